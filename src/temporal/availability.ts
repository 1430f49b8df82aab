// Whether an error means the Temporal frontend cannot be reached right now (stopped, restarting):
// the API answers 503 for it, never a 500.
import { isGrpcServiceError, isGrpcDeadlineError } from '@temporalio/client';

/** gRPC status UNAVAILABLE (14): the connection to the server failed or was refused. */
const UNAVAILABLE: number = 14;

export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && Number(e.code) === UNAVAILABLE) return true;
  }
  return isGrpcDeadlineError(err);
}

export const TEMPORAL_UNAVAILABLE_MESSAGE = 'workflow service unavailable: Temporal is not answering; try again shortly (with the same idempotency key, a retry returns the same task)';
