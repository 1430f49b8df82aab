// What a route answers: an HTTP status and a JSON body.

/** `codo`: business errors as {code≠0,msg} in CODO's style; `v1`: ordinary HTTP statuses. */
export type RouteStyle = 'codo' | 'v1';

/** A reply with an explicit HTTP status. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}
