// /healthz: the process is alive. /readyz: PostgreSQL and Temporal answer (503 names the failing part).
import { Router } from 'express';
import { sql } from 'kysely';
import type { Connection } from '@temporalio/client';
import type { Db } from '../db/database';

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRouter(deps: { db: Db; temporal: Connection }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ code: 0, msg: 'alive' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks = {
      postgres: withTimeout(sql`select 1`.execute(deps.db), 2000),
      temporal: withTimeout(deps.temporal.healthService.check({}), 2000),
    };
    const failing: Record<string, string> = {};
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await check;
        } catch (err) {
          failing[name] = err instanceof Error ? err.message : String(err);
        }
      }),
    );
    const names = Object.keys(failing);
    if (names.length === 0) {
      res.json({ code: 0, msg: 'ready', postgres: 'ok', temporal: 'ok' });
    } else {
      res.status(503).json({ code: 503, msg: `not ready: ${names.join(', ')} unreachable`, details: failing });
    }
  });
  return router;
}
