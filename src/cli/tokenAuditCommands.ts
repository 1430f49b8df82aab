// `opsflow token create|list|revoke` and `opsflow audit verify|list`, with or without a running instance.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createApiToken, listApiTokens, revokeApiToken } from '../accounts/apiTokens';
import { AccountError } from '../accounts/users';
import { appendAudit, listAudit, verifyAuditChain } from '../audit/audit';
import { bootDatabase } from '../boot';
import { ConfigError, type Config } from '../config';
import { loadSecretBox } from '../masterKey';
import type { Logger } from '../log';

/** The audit actor for shell commands: the OS account that ran them. */
export function cliActor(): string {
  let name = process.env.SUDO_USER ?? process.env.USER;
  if (!name) {
    try {
      name = os.userInfo().username;
    } catch {
      name = 'unknown';
    }
  }
  return `cli:${name}`;
}

export async function runTokenCommand(config: Config, log: Logger, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      'expires-in-days': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const [action, arg] = positionals;
  if (!action || !['create', 'list', 'revoke'].includes(action)) {
    throw new ConfigError('token: expected create <username> [--name N] [--expires-in-days D] [--json], list [username], or revoke <id>');
  }
  if ((action === 'create' || action === 'revoke') && !arg) throw new ConfigError(`token ${action}: ${action === 'create' ? 'a username' : 'a token id'} is required`);
  let expiresAt: Date | null = null;
  if (values['expires-in-days'] !== undefined) {
    const days = Number(values['expires-in-days']);
    if (!Number.isInteger(days) || days < 1 || days > 3650) throw new ConfigError('token create: --expires-in-days must be a whole number 1-3650');
    expiresAt = new Date(Date.now() + days * 86_400_000);
  }
  const database = await bootDatabase(config, (l) => log.debug(l), { migrate: true });
  const { db } = database;
  const box = loadSecretBox(config.OPSFLOW_MASTER_KEY, config.dataDir); // keys the audit chain
  try {
    switch (action) {
      case 'create': {
        const { token, info } = await createApiToken(db, { username: arg!, name: values.name ?? 'cli', expiresAt });
        await appendAudit(db, box, { actor: cliActor(), action: 'token.create', target: `token:${info.id}`, detail: { owner: info.username, name: info.name }, result: 'ok' });
        const out = { id: info.id, name: info.name, username: info.username, expires_at: info.expires_at?.toISOString() ?? null, token };
        if (values.json) console.log(JSON.stringify(out));
        else {
          for (const [k, v] of Object.entries(out)) console.log(`${k}: ${String(v)}`);
          console.log('(the token is shown only now; only its hash is stored)');
        }
        break;
      }
      case 'list': {
        const tokens = await listApiTokens(db, arg);
        if (values.json) console.log(JSON.stringify(tokens));
        else {
          for (const t of tokens) {
            const state = t.revoked_at ? 'revoked' : t.expires_at && t.expires_at.getTime() <= Date.now() ? 'expired' : 'active';
            console.log(`${t.id}\t${t.username}\t${t.name}\t${state}\texpires ${t.expires_at?.toISOString() ?? 'never'}`);
          }
        }
        break;
      }
      case 'revoke': {
        const id = Number(arg);
        if (!Number.isSafeInteger(id) || id <= 0) throw new ConfigError('token revoke: the id is a positive number (see `opsflow token list`)');
        if (!(await revokeApiToken(db, id))) throw new AccountError(`token ${id}: no such active token`);
        await appendAudit(db, box, { actor: cliActor(), action: 'token.revoke', target: `token:${id}`, result: 'ok' });
        console.log(values.json ? JSON.stringify({ id, revoked: true }) : `token ${id} revoked`);
        break;
      }
    }
  } finally {
    await database.stop();
  }
}

export async function runAuditCommand(config: Config, log: Logger, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, limit: { type: 'string', default: '50' } },
  });
  const [action] = positionals;
  if (action !== 'verify' && action !== 'list') throw new ConfigError('audit: expected verify or list');
  const database = await bootDatabase(config, (l) => log.debug(l), { migrate: true });
  try {
    if (action === 'verify') {
      const result = await verifyAuditChain(database.db, loadSecretBox(config.OPSFLOW_MASTER_KEY, config.dataDir));
      if (values.json) console.log(JSON.stringify(result));
      else if (result.ok) console.log(`audit log intact: ${result.rows} rows, hash chain verified`);
      else console.log(`audit log TAMPERED: row ${result.firstBadId} is the first that does not check out (${result.reason}); ${result.rows - 1} rows before it verified`);
      if (!result.ok) process.exitCode = 3;
    } else {
      const limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ConfigError('audit list: --limit must be 1-10000');
      const rows = await listAudit(database.db, { limit });
      if (values.json) console.log(JSON.stringify(rows));
      else for (const r of rows.reverse()) console.log(`${r.id}\t${r.at.toISOString()}\t${r.actor}\t${r.action}\t${r.target}\t${r.ip}\t${r.result}`);
    }
  } finally {
    await database.stop();
  }
}
