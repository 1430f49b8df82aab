// Minimal cookie reading/writing (no dependency): enough for auth_key and csrf_key.
import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';

export function readCookies(req: Pick<IncomingMessage, 'headers'>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  const header = req.headers.cookie;
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name === '' || name in out) continue;
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}

export function readCookie(req: Pick<IncomingMessage, 'headers'>, name: string): string | undefined {
  return readCookies(req)[name];
}

/** Secure only when the request came over TLS (directly or via the trusted proxy). */
export function setCookie(req: Request, res: Response, name: string, value: string, opts: { maxAgeMs: number; httpOnly: boolean }): void {
  res.cookie(name, value, { maxAge: opts.maxAgeMs, httpOnly: opts.httpOnly, sameSite: 'lax', path: '/', secure: req.secure });
}

export function clearCookie(req: Request, res: Response, name: string, httpOnly: boolean): void {
  res.clearCookie(name, { httpOnly, sameSite: 'lax', path: '/', secure: req.secure });
}
