// One error shape for every route: {code, msg, details}. Never a stack trace.
import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';

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

/** CODO's paths (task API, login): their errors carry a negative code, as CODO's did. */
export function isCodoPath(path: string): boolean {
  return path.startsWith('/api/task/') || path.startsWith('/api/accounts/');
}

/** Turns anything thrown into a JSON reply; unexpected errors are logged, not shown. */
export function errorHandler(log: (line: string) => void): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (err instanceof HttpError) {
      res.status(err.status).json({ code: err.code, msg: err.message, details: err.details ?? null });
      return;
    }
    if (err instanceof ZodError) {
      const details = zodDetails(err);
      const first = details[0];
      res.status(400).json({ code: 400, msg: first ? `${first.field}: ${first.problem}` : 'invalid request', details });
      return;
    }
    // body-parser errors carry an HTTP status (400 bad JSON, 413 too large, 415 charset).
    const status = typeof err === 'object' && err !== null && 'status' in err ? Number((err).status) : 500;
    if (status >= 400 && status < 500) {
      const type = (err as { type?: string }).type;
      const msg =
        type === 'entity.parse.failed' ? 'body: not valid JSON'
        : type === 'entity.too.large' ? 'body: too large'
        : `request: ${(err as Error).message}`;
      res.status(status).json({ code: isCodoPath(req.path) ? -1 : status, msg, details: null });
      return;
    }
    log(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    res.status(500).json({ code: 500, msg: 'internal error', details: null });
  };
}
