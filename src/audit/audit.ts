// The audit trail ("操作记录"): append-only, hash-chained rows in audit_log.
// Every key is derived from the master key: someone who can write to the database but has no
// master key can neither forge a row nor recompute the chain after editing one.
// - A writer inserts its row with row_mac = HMAC-SHA256(key, canonical JSON of the row's fields):
//   one INSERT, no lock, so audited requests never queue behind each other.
// - One sealer at a time (a transaction-scoped advisory lock, so several API replicas can run one
//   each) chains unsealed rows in batches: seal_seq in order, hash = HMAC(key, prev_hash + row_mac),
//   the first row's prev_hash GENESIS. The chain's order is seal_seq, not id: a row whose writer
//   committed late is chained later.
// - `verifyAuditChain` seals what is pending, then recomputes every row_mac and the chain and
//   names the first row that does not check out (edited, inserted, reordered or deleted).
// Rows chained before migration 0008 (row_mac null) hash their content directly (auditHash).
import { createHmac } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database';
import type { SecretBox } from '../security/secretBox';

export const GENESIS_HASH = '0'.repeat(64);
/** Arbitrary constant naming the sealer's lock among pg advisory locks. */
const AUDIT_LOCK_KEY = 0x6f70_7366; // 'opsf'
/** Rows chained per sealing transaction. */
const SEAL_BATCH = 1000;

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
  /** null until the sealer has chained the row (a fraction of a second). */
  prev_hash: string | null;
  hash: string | null;
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

type AuditContent = Parameters<typeof auditHash>[2];

/** The writer's MAC over one row's content. */
export function auditRowMac(key: Buffer, row: AuditContent): string {
  return auditHash(key, 'row', row);
}

/** A sealed row's link: the previous row's hash and this row's MAC. */
export function auditChainHash(key: Buffer, prevHash: string, rowMac: string): string {
  return createHmac('sha256', key).update(prevHash).update('\n').update(rowMac).digest('hex');
}

/** Makes detail JSON-safe and the same after a jsonb round trip (no undefined, no Dates). */
function normaliseDetail(detail: Record<string, unknown> | undefined): Record<string, unknown> {
  return JSON.parse(JSON.stringify(detail ?? {}), (_key, value: unknown) => (typeof value === 'string' ? visibleNul(value) : value)) as Record<string, unknown>;
}

/**
 * PostgreSQL text and jsonb cannot hold a NUL character, and an insert carrying one fails: the
 * row would be lost. Inputs are refused with NUL, but a row must not depend on that; NUL is
 * recorded as the visible U+2400 (␀) instead.
 */
function visibleNul(text: string): string {
  return text.replaceAll('\0', '\u2400');
}

/** Appends one row (chained later by the sealer); returns its id. */
export async function appendAudit(db: Db, box: SecretBox, input: AuditInput): Promise<number> {
  // Millisecond precision so the stored timestamptz reads back as the same instant.
  const row = {
    at: new Date(),
    actor: visibleNul(input.actor),
    action: visibleNul(input.action),
    target: visibleNul(input.target ?? ''),
    detail: normaliseDetail(input.detail),
    ip: visibleNul(input.ip ?? ''),
    result: visibleNul(input.result),
  };
  const inserted = await db
    .insertInto('audit_log')
    .values({ ...row, detail: JSON.stringify(row.detail), row_mac: auditRowMac(auditKey(box), row) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(inserted.id);
}

/**
 * Chains up to `max` unsealed rows after the chain's end, in one transaction. Returns how many it
 * sealed, or null when another sealer holds the lock (it will seal them).
 */
export async function sealAuditBatch(db: Db, box: SecretBox, max = SEAL_BATCH): Promise<number | null> {
  const key = auditKey(box);
  return db.transaction().execute(async (trx) => {
    const lock = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${AUDIT_LOCK_KEY}) as ok`.execute(trx);
    if (!lock.rows[0]?.ok) return null;
    const pending = await trx.selectFrom('audit_log').select(['id', 'row_mac']).where('seal_seq', 'is', null).orderBy('id').limit(max).execute();
    if (pending.length === 0) return 0;
    const end = await trx.selectFrom('audit_log').select(['hash', 'seal_seq']).where('seal_seq', 'is not', null).orderBy('seal_seq', 'desc').limit(1).executeTakeFirst();
    let prev = end?.hash ?? GENESIS_HASH;
    let seq = Number(end?.seal_seq ?? 0);
    const links = pending.map((r) => {
      const hash = auditChainHash(key, prev, r.row_mac ?? '');
      const link = { id: r.id, prev_hash: prev, hash, seal_seq: String(++seq) };
      prev = hash;
      return link;
    });
    // One statement for the batch: UPDATE … FROM (VALUES …).
    const values = sql.join(links.map((l) => sql`(${l.id}::bigint, ${l.prev_hash}, ${l.hash}, ${l.seal_seq}::bigint)`));
    await sql`update audit_log a set prev_hash = v.prev_hash, hash = v.hash, seal_seq = v.seal_seq
      from (values ${values}) as v(id, prev_hash, hash, seal_seq) where a.id = v.id`.execute(trx);
    return links.length;
  });
}

export type VerifyResult =
  | { ok: true; rows: number }
  | { ok: false; rows: number; firstBadId: number; reason: string };

/** Seals every row pending now (waiting for another sealer that holds the lock). */
export async function sealPendingAudit(db: Db, box: SecretBox): Promise<void> {
  for (let waits = 0; waits < 200; ) {
    const n = await sealAuditBatch(db, box);
    if (n === 0) return;
    if (n === null) {
      waits++;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Seals what is pending, then walks the chain in seal order (in pages, any size) and reports the first row that does not check out. */
export async function verifyAuditChain(db: Db, box: SecretBox, pageSize = 1000): Promise<VerifyResult> {
  await sealPendingAudit(db, box);
  const key = auditKey(box);
  let prev = GENESIS_HASH;
  let lastSeq = '0';
  let rows = 0;
  for (;;) {
    const page = await db.selectFrom('audit_log').selectAll().where('seal_seq', '>', lastSeq).orderBy('seal_seq').limit(pageSize).execute();
    if (page.length === 0) return { ok: true, rows };
    for (const raw of page) {
      const id = Number(raw.id);
      rows++;
      if (raw.prev_hash !== prev) {
        return { ok: false, rows, firstBadId: id, reason: `prev_hash does not match the hash of the row before (a row was removed, inserted or edited)` };
      }
      const content = { at: raw.at, actor: raw.actor, action: raw.action, target: raw.target, detail: raw.detail, ip: raw.ip, result: raw.result };
      const expected = raw.row_mac === null ? auditHash(key, prev, content) : auditChainHash(key, prev, auditRowMac(key, content));
      if (expected !== raw.hash) return { ok: false, rows, firstBadId: id, reason: 'content does not match its hash (the row was edited)' };
      prev = raw.hash;
      lastSeq = raw.seal_seq ?? lastSeq;
    }
  }
}

/** Seals audit rows in the background every `intervalMs`, one batch after another; stop() seals what is left. */
export class AuditSealer {
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly log: (line: string) => void,
    intervalMs = 200,
  ) {
    this.#timer = setInterval(() => this.#tick(), intervalMs);
    this.#timer.unref();
  }

  #tick(): void {
    // One run at a time: a slow batch is not overtaken by the next tick.
    this.#running = this.#running.then(async () => {
      try {
        while ((await sealAuditBatch(this.db, this.box)) === SEAL_BATCH);
      } catch (err) {
        this.log(`audit sealer: ${String(err)}`);
      }
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    try {
      await sealPendingAudit(this.db, this.box);
    } catch (err) {
      this.log(`audit sealer: ${String(err)}`);
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
  return rows.map(({ row_mac: _mac, seal_seq: _seq, ...r }) => ({ ...r, id: Number(r.id) }));
}
