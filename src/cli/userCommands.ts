// `opsflow user …`: account administration from the shell, with or without a running instance.
import { parseArgs } from 'node:util';
import { withLocks } from '../accounts/lockout';
import * as manage from '../accounts/manage';
import { AccountError, createUser } from '../accounts/users';
import { appendAudit } from '../audit/audit';
import { cliActor } from './tokenAuditCommands';
import { bootDatabase } from '../boot';
import { ConfigError, type Config } from '../config';
import { loadSecretBox } from '../masterKey';
import type { Logger } from '../log';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function noUser(username: string): AccountError {
  return new AccountError(`username: no user '${username}'`, 'not_found');
}

function print(json: boolean, value: Record<string, unknown>): void {
  if (json) console.log(JSON.stringify(value));
  else for (const [k, v] of Object.entries(value)) console.log(`${k}: ${String(v)}`);
}

export async function runUserCommand(config: Config, log: Logger, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'display-name': { type: 'string' },
    },
  });
  const [action, username] = positionals;
  const needsName = ['add', 'disable', 'enable', 'unlock', 'reset-password', 'reset-totp'];
  if (!action || !['list', ...needsName].includes(action)) {
    throw new ConfigError('user: expected add, list, disable, enable, unlock, reset-password or reset-totp');
  }
  if (needsName.includes(action) && !username) throw new ConfigError(`user ${action}: a username is required`);

  const password = values['password-stdin'] ? await readStdin() : undefined;
  const database = await bootDatabase(config, (l) => log.debug(l), { migrate: true });
  const box = loadSecretBox(config.OPSFLOW_MASTER_KEY, config.dataDir);
  const { db } = database;
  // Every change made from the shell is in the audit trail too, attributed to the OS user.
  const audit = (what: string, target: string, detail: Record<string, unknown> = {}): Promise<number> =>
    appendAudit(db, box, { actor: cliActor(), action: what, target: `user:${target}`, detail, result: 'ok' });
  try {
    switch (action) {
      case 'add': {
        if (!values.role) throw new AccountError('role: --role is required');
        const account = await createUser(db, box, { username: username!, role: values.role, displayName: values['display-name'], password });
        await audit('user.create', account.username, { role: values.role });
        print(values.json, { ...account });
        break;
      }
      case 'list': {
        const rows = await db.selectFrom('users').select(['id', 'username', 'display_name', 'role', 'disabled']).orderBy('id').execute();
        const users = (await withLocks(db, rows)).map(({ id: _id, ...u }) => u);
        if (values.json) console.log(JSON.stringify(users));
        else {
          for (const u of users) {
            const state = u.disabled ? 'disabled' : u.locked_until ? `locked until ${u.locked_until.toISOString()} for ${u.locked_addresses.join(' ')}` : 'active';
            console.log(`${u.username}\t${u.role}\t${state}\t${u.display_name}`);
          }
        }
        break;
      }
      case 'disable':
      case 'enable': {
        const user = await manage.updateUser(db, username!, { disabled: action === 'disable' });
        if (!user) throw noUser(username!);
        await audit(`user.${action}`, user.username);
        print(values.json, { username: user.username, disabled: action === 'disable' });
        break;
      }
      case 'unlock': {
        const user = await manage.unlockUser(db, username!);
        if (!user) throw noUser(username!);
        await audit('user.unlock', user.username);
        print(values.json, { username: user.username, unlocked: true });
        break;
      }
      case 'reset-password': {
        const done = await manage.resetPassword(db, username!, password);
        if (!done) throw noUser(username!);
        await audit('user.reset_password', done.username);
        print(values.json, done);
        break;
      }
      case 'reset-totp': {
        const enrolled = await manage.resetTotp(db, box, username!);
        if (!enrolled) throw noUser(username!);
        await audit('user.reset_totp', enrolled.username);
        print(values.json, enrolled);
        break;
      }
    }
  } finally {
    await database.stop();
  }
}
