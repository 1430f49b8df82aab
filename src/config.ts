// Every setting comes from the environment and is validated once, at boot.
// A bad value stops start-up with one line naming the variable and what it expects.
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_SHARD_HOSTS, MAX_STEP_RUNS_PER_TASK } from './domain/shards';
import ipaddr from 'ipaddr.js';

// Digits only: Number() would also take '0x50', '1e3' or ' 80 '.
const port = z
  .string()
  .regex(/^\d{1,5}$/)
  .transform(Number)
  .pipe(z.number().int().min(1).max(65535));

function cidrList(text: string): boolean {
  const entries = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return (
    entries.length > 0 &&
    entries.every((c) => {
      try {
        ipaddr.parseCIDR(c);
        return true;
      } catch {
        return false;
      }
    })
  );
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustedProxyList(text: string): boolean {
  if (text.trim() === 'none') return true;
  const items = text.split(',').map((s) => s.trim());
  return items.length > 0 && items.every((item) => PROXY_NAMES.has(item) || ipaddr.isValid(item) || isCidr(item));
}

function isCidr(text: string): boolean {
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return false;
  }
}

/** Express's `trust proxy` value: false, or the names and addresses it believes. */
function toTrustProxy(text: string): false | string[] {
  return text.trim() === 'none' ? false : text.split(',').map((s) => s.trim());
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Each entry: the schema plus the one-line hint shown when the value is wrong. */
const settings = {
  DATABASE_URL: [z.string().regex(/^postgres(ql)?:\/\//).optional(), 'a postgres:// URL (unset: embedded PostgreSQL)'],
  OPSFLOW_PG_PORT: [port.default(54329), 'a TCP port 1-65535 for the embedded PostgreSQL'],
  TEMPORAL_ADDRESS: [z.string().regex(/^[^:\s]+:\d+$/).optional(), 'host:port of a Temporal frontend (unset: local dev server)'],
  TEMPORAL_NAMESPACE: [z.string().min(1).default('default'), 'a Temporal namespace name'],
  OPSFLOW_TEMPORAL_PORT: [port.default(7233), 'a TCP port 1-65535 for the local Temporal dev server'],
  TEMPORAL_UI_PORT: [port.default(8233), 'a TCP port 1-65535 for the dev server Web UI'],
  OPSFLOW_TASK_QUEUE: [z.string().min(1).default('opsflow-tasks'), 'a task queue name'],
  PORT: [port.default(8080), 'a TCP port 1-65535 for the HTTP API'],
  HOST: [z.string().min(1).default('127.0.0.1'), 'the address the HTTP API listens on'],
  OPSFLOW_DATA_DIR: [z.string().min(1).default('.data'), 'a directory for embedded data'],
  OPSFLOW_MASTER_KEY: [
    z.string().regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/).optional(),
    '64 hex characters or base64 of 32 bytes (unset: generated once into the data dir)',
  ],
  OPSFLOW_TIMEZONE: [z.string().refine(validTimeZone).default('Asia/Shanghai'), 'an IANA time zone such as Asia/Shanghai'],
  OPSFLOW_ALLOWED_TARGETS: [
    z.string().refine(cidrList).default('0.0.0.0/0,::/0'),
    'a comma-separated CIDR list such as 127.0.0.0/8,10.0.0.0/8',
  ],
  OPSFLOW_TRUSTED_PROXIES: [
    z.string().refine(trustedProxyList).default('loopback').transform(toTrustProxy),
    "none, or a comma-separated list of loopback, linklocal, uniquelocal and proxy addresses/CIDRs whose X-Forwarded-For is believed",
  ],
  OPSFLOW_FOUR_EYES: [z.enum(['true', 'false']).default('true').transform((v) => v === 'true'), 'true or false'],
  OPSFLOW_APPROVAL_TIMEOUT_S: [z.string().regex(/^\d{1,9}$/).transform(Number).default(0), 'whole seconds a `new` task waits for approval (0 = forever)'],
  OPSFLOW_SHARD_HOSTS: [
    z.string().regex(/^[1-9]\d{0,4}$/).transform(Number).default(DEFAULT_SHARD_HOSTS),
    'hosts per shard (child workflow) of a large task, 1-99999; fewer when a group has many steps',
  ],
  OPSFLOW_MAX_RUNS_PER_TASK: [
    z.string().regex(/^[1-9]\d{0,5}$/).transform(Number).refine((n) => n <= MAX_STEP_RUNS_PER_TASK).default(MAX_STEP_RUNS_PER_TASK),
    `host × step runs one task may have, 1-${MAX_STEP_RUNS_PER_TASK}; a larger submission is refused (409)`,
  ],
  LOG_LEVEL: [z.enum(['debug', 'info', 'warn', 'error']).default('info'), 'one of debug, info, warn, error'],
} as const;

type Settings = typeof settings;

/** Every environment variable opsflow reads, in documentation order. */
export const CONFIG_VARIABLES = Object.keys(settings) as (keyof Settings)[];

/** Values never echoed in an error: they may hold a key or a password. */
const SECRET: ReadonlySet<string> = new Set(['DATABASE_URL', 'OPSFLOW_MASTER_KEY']);
type Parsed = { [K in keyof Settings]: z.output<Settings[K][0]> };

export type Config = Parsed & {
  /** Absolute path of OPSFLOW_DATA_DIR. */
  dataDir: string;
  /** Parsed OPSFLOW_ALLOWED_TARGETS. */
  allowedTargets: [ipaddr.IPv4 | ipaddr.IPv6, number][];
};

export class ConfigError extends Error {}

/** Reads and validates the environment; throws ConfigError with one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [name, [schema, hint]] of Object.entries(settings)) {
    const raw = env[name] === '' ? undefined : env[name];
    const result = (schema as z.ZodType).safeParse(raw);
    if (!result.success) {
      const shown = SECRET.has(name) ? ' (value hidden)' : `=${JSON.stringify(raw)}`;
      throw new ConfigError(`${name}${shown} is invalid: expected ${hint}`);
    }
    out[name] = result.data;
  }
  const parsed = out as Parsed;
  return {
    ...parsed,
    dataDir: path.resolve(parsed.OPSFLOW_DATA_DIR),
    allowedTargets: parseCidrList(parsed.OPSFLOW_ALLOWED_TARGETS),
  };
}

export function parseCidrList(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number][] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((c) => ipaddr.parseCIDR(c));
}
