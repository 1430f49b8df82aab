// One error mapper for every route, the Express error handler and the log WebSocket:
// {code, msg, details}, never a stack trace. CODO-style routes get CODO's negative codes.
import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { databaseUnavailableMessage, isDatabaseUnavailable } from '../db/availability';
import { Refusal, type RefusalKind } from '../domain/errors';
import { isTemporalUnavailable, TEMPORAL_UNAVAILABLE_MESSAGE } from '../temporal/availability';
import { Reply, type RouteStyle } from './reply';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function zodDetails(err: ZodError): { field: string; problem: string }[] {
  return err.issues.map((i) => ({ field: i.path.join('.') || '(body)', problem: i.message }));
}

const REFUSAL_STATUS: Readonly<Record<RefusalKind, number>> = { invalid: 400, unprocessable: 422, not_found: 404, conflict: 409, forbidden: 403 };

/** CODO's codes: -2 for a permission refusal (as the role guard answers), -1 for the rest. */
function codoCode(kind: RefusalKind): number {
  return kind === 'forbidden' ? -2 : -1;
}

/** body-parser errors carry an HTTP status (400 bad JSON, 413 too large, 415 charset). */
function clientStatus(err: unknown): number | null {
  const status = typeof err === 'object' && err !== null && 'status' in err ? Number((err).status) : NaN;
  return status >= 400 && status < 500 ? status : null;
}

/** Anything thrown as {status, body}; unexpected errors are logged and shown as 'internal error'. */
export function errorReply(err: unknown, style: RouteStyle, log: (line: string) => void): Reply {
  if (err instanceof HttpError) return new Reply(err.status, { code: err.code, msg: err.message, details: err.details ?? null });
  if (err instanceof Refusal) {
    const status = REFUSAL_STATUS[err.kind];
    const details = err.details !== undefined ? err.details : err.field ? [{ field: err.field, problem: err.problem }] : null;
    return new Reply(status, { code: style === 'codo' ? codoCode(err.kind) : status, msg: err.message, details });
  }
  if (err instanceof ZodError) {
    const details = zodDetails(err);
    const first = details[0];
    const msg = first ? `${first.field}: ${first.problem}` : 'invalid request';
    return new Reply(400, { code: style === 'codo' ? -1 : 400, msg, details });
  }
  const status = clientStatus(err);
  if (status !== null) {
    const type = (err as { type?: string }).type;
    const msg =
      type === 'entity.parse.failed' ? 'body: not valid JSON'
      : type === 'entity.too.large' ? 'body: too large'
      : `request: ${(err as Error).message}`;
    // CODO's routes answer a body they cannot parse with a negative code, as CODO's other refusals.
    return new Reply(status, { code: style === 'codo' ? -1 : status, msg, details: null });
  }
  // PostgreSQL stopped or restarting: a client may retry, so say so instead of 'internal error'.
  if (isDatabaseUnavailable(err)) {
    log(databaseUnavailableMessage(err));
    return new Reply(503, { code: style === 'codo' ? -1 : 503, msg: databaseUnavailableMessage(err), details: null });
  }
  if (isTemporalUnavailable(err)) {
    log(`${TEMPORAL_UNAVAILABLE_MESSAGE}: ${err instanceof Error ? err.message : String(err)}`);
    return new Reply(503, { code: style === 'codo' ? -1 : 503, msg: TEMPORAL_UNAVAILABLE_MESSAGE, details: null });
  }
  log(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return new Reply(500, { code: 500, msg: 'internal error', details: null });
}

/** CODO's paths (task API, login): their errors carry a negative code, as CODO's did. */
export function isCodoPath(path: string): boolean {
  return path.startsWith('/api/task/') || path.startsWith('/api/accounts/');
}

/** Express's last handler: what no route answered (body-parser errors, 404s), in the path's dialect. */
export function errorHandler(log: (line: string) => void): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const reply = errorReply(err, isCodoPath(req.path) ? 'codo' : 'v1', log);
    res.status(reply.status).json(reply.body);
  };
}
