// Classified SSH failures: the step runner retries only SshTransportError, and only
// SshTransportError means "the command certainly did not start".

export class SshError extends Error {
  constructor(
    message: string,
    readonly host: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The server's host key was refused by the verifier (unknown, or changed since pinned). */
export class SshHostKeyError extends SshError {
  constructor(
    host: string,
    port: number,
    readonly keyType: string,
    readonly fingerprint: string,
  ) {
    super(`host key of ${host}:${port} refused: ${keyType} ${fingerprint}`, host, port);
  }
}

/** The server rejected every credential offered (or the private key could not be used). */
export class SshAuthError extends SshError {}

/** Connect refused, timeout, reset, lost before the handshake, no channel: safe to retry. */
export class SshTransportError extends SshError {
  constructor(
    message: string,
    host: string,
    port: number,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, host, port, options);
  }
}

/** The connection died while a command ran: it may or may not have run (not safe to blindly retry). */
export class SshCommandLostError extends SshError {}

/** ssh2 decorates its errors with these untyped fields. */
export interface Ssh2ErrorFields {
  level?: string;
  code?: string;
}

export function ssh2Fields(err: unknown): Ssh2ErrorFields {
  if (typeof err !== 'object' || err === null) return {};
  const { level, code } = err as Record<string, unknown>;
  return {
    level: typeof level === 'string' ? level : undefined,
    code: typeof code === 'string' ? code : undefined,
  };
}
