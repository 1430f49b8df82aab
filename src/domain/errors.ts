// A request the application core refuses, and why: the dialects (CODO, /api/v1) turn it into
// their reply shape in one place (src/api/errors.ts), so a rule is written once, not per route.

/** `unprocessable`: well-formed input that cannot be used (e.g. text that is no SSH key): 422. */
export type RefusalKind = 'invalid' | 'unprocessable' | 'not_found' | 'conflict' | 'forbidden';

export class Refusal extends Error {
  /**
   * `field` names the input that is wrong (the message then reads `field: problem`); `details`
   * replaces the default `[{field, problem}]` when a reply documents more.
   */
  constructor(
    readonly kind: RefusalKind,
    readonly field: string | null,
    readonly problem: string,
    readonly details?: unknown,
  ) {
    super(field ? `${field}: ${problem}` : problem);
  }

  /** The same refusal about `field` (a dialect's name for the input the core could not name). */
  about(field: string): Refusal {
    return this.field ? this : new Refusal(this.kind, field, this.problem, this.details);
  }
}

/** Runs `work`; a refusal that names no field is re-thrown naming `field`. */
export async function refusalsAbout<T>(field: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof Refusal) throw err.about(field);
    throw err;
  }
}
