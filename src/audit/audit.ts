// The audit trail ("操作记录"): append-only, hash-chained rows in audit_log.
// hash = HMAC-SHA256(key, prev_hash + canonical JSON of the row's fields), the key derived from the
// master key: someone who can write to the database but has no master key cannot recompute the
// chain after editing a row. The first row's prev_hash is GENESIS. Appends are serialised with a transaction-scoped advisory lock, so the chain has no
// forks even with several API replicas. `verifyAuditChain` recomputes it and names the first
// row that does not check out (edited, inserted or deleted in the middle).
import { createHmac } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database';
import type { SecretBox } from '../security/secretBox';

export const GENESIS_HASH = '0'.repeat(64);
/** Arbitrary constant naming the audit lock among pg advisory locks. */
const AUDIT_LOCK_KEY = 0x6f70_7366; // 'opsf'

export interface AuditInput {
  actor: string;
  action: string;
  target?: string;
  detail?: Record<string, unknown>;
  ip?: string;
  /** `ok`, or `refused: <why>` / `error: <why>`. */
  result: string;
}

export interface AuditRow {
  id: number;
  at: Date;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
  ip: string;
  result: string;
  prev_hash: string;
  hash: string;
}

/** JSON with object keys sorted at every level (jsonb does not keep key order). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const chainKeys = new WeakMap<SecretBox, Buffer>();

/** The chain's HMAC key (a purpose-bound derivation of the master key), derived once per box. */
export function auditKey(box: SecretBox): Buffer {
  let key = chainKeys.get(box);
  if (!key) {
    key = box.deriveKey('opsflow audit chain v1');
    chainKeys.set(box, key);
  }
  return key;
}

export function auditHash(key: Buffer, prevHash: string, row: { at: Date; actor: string; action: string; target: string; detail: Record<string, unknown>; ip: string; result: string }): string {
  const body = canonicalJson({
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    target: row.target,
    detail: row.detail,
    ip: row.ip,
    result: row.result,
  });
  return createHmac('sha256', key).update(prevHash).update('\n').update(body).digest('hex');
}

/** Makes detail JSON-safe and the same after a jsonb round trip (no undefined, no Dates). */
function normaliseDetail(detail: Record<string, unknown> | undefined): Record<string, unknown> {
  return JSON.parse(JSON.stringify(detail ?? {})) as Record<string, unknown>;
}

/** Appends one row to the chain; returns its id. */
export async function appendAudit(db: Db, box: SecretBox, input: AuditInput): Promise<number> {
  const key = auditKey(box);
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`.execute(trx);
    const last = await trx.selectFrom('audit_log').select(['hash']).orderBy('id', 'desc').limit(1).executeTakeFirst();
    const prev = last?.hash ?? GENESIS_HASH;
    // Millisecond precision so the stored timestamptz reads back as the same instant.
    const at = new Date();
    const row = {
      at,
      actor: input.actor,
      action: input.action,
      target: input.target ?? '',
      detail: normaliseDetail(input.detail),
      ip: input.ip ?? '',
      result: input.result,
    };
    const hash = auditHash(key, prev, row);
    const inserted = await trx
      .insertInto('audit_log')
      .values({ ...row, detail: JSON.stringify(row.detail), prev_hash: prev, hash })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(inserted.id);
  });
}

export type VerifyResult =
  | { ok: true; rows: number }
  | { ok: false; rows: number; firstBadId: number; reason: string };

/** Walks the chain in id order (in pages, any size) and reports the first row that does not check out. */
export async function verifyAuditChain(db: Db, box: SecretBox, pageSize = 1000): Promise<VerifyResult> {
  const key = auditKey(box);
  let prev = GENESIS_HASH;
  let lastId = 0;
  let rows = 0;
  for (;;) {
    const page = await db.selectFrom('audit_log').selectAll().where('id', '>', String(lastId)).orderBy('id').limit(pageSize).execute();
    if (page.length === 0) return { ok: true, rows };
    for (const raw of page) {
      const id = Number(raw.id);
      rows++;
      if (raw.prev_hash !== prev) {
        return { ok: false, rows, firstBadId: id, reason: `prev_hash does not match the hash of the row before (a row was removed, inserted or edited)` };
      }
      const expected = auditHash(key, prev, {
        at: raw.at,
        actor: raw.actor,
        action: raw.action,
        target: raw.target,
        detail: raw.detail,
        ip: raw.ip,
        result: raw.result,
      });
      if (expected !== raw.hash) return { ok: false, rows, firstBadId: id, reason: 'content does not match its hash (the row was edited)' };
      prev = raw.hash;
      lastId = id;
    }
  }
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  result?: 'ok' | 'refused' | 'error';
  since?: Date;
  until?: Date;
  /** Rows with id below this (cursor, newest first). */
  before?: number;
  limit: number;
}

export async function listAudit(db: Db, f: AuditFilter): Promise<AuditRow[]> {
  let q = db.selectFrom('audit_log').selectAll();
  if (f.actor) q = q.where('actor', '=', f.actor);
  if (f.action) q = f.action.endsWith('*') ? q.where('action', 'like', `${f.action.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`) : q.where('action', '=', f.action);
  if (f.target) q = q.where('target', '=', f.target);
  if (f.result) q = f.result === 'ok' ? q.where('result', '=', 'ok') : q.where('result', 'like', `${f.result}%`);
  if (f.since) q = q.where('at', '>=', f.since);
  if (f.until) q = q.where('at', '<', f.until);
  if (f.before !== undefined) q = q.where('id', '<', String(f.before));
  const rows = await q.orderBy('id', 'desc').limit(f.limit).execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}
