// docker-compose.temporal.yml: no Docker engine runs here, so the file is checked with a
// YAML parser, and the admin-tools script that registers opsflow's namespace and search
// attributes is run for real (twice: it must be idempotent) against the run's Temporal dev server.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { inject, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { locateTemporalCli } from '../../src/temporal/cli';
import { ensureNamespace, ensureSearchAttributes, SEARCH_ATTRIBUTES } from '../../src/temporal/searchAttributes';

const run = promisify(execFile);
const COMPOSE_FILE = path.join(__dirname, '..', '..', 'docker-compose.temporal.yml');

interface Service {
  image: string;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  entrypoint?: string[];
  command?: string[];
  configs?: { source: string; target: string }[];
  volumes?: string[];
}
interface ComposeFile {
  services: Record<string, Service>;
  configs?: Record<string, { content: string }>;
  volumes?: Record<string, unknown>;
}

const text = fs.readFileSync(COMPOSE_FILE, 'utf8');
const document = YAML.parseDocument(text, { merge: true });
const compose = document.toJS() as ComposeFile;
const service = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`service ${name} missing`);
  return s;
};
/** The script a `/bin/sh -c` service runs, as the shell sees it (compose turns `$$` into `$`). */
const script = (name: string): string => (service(name).command ?? []).join('\n').replaceAll('$$', '$');
/** `${VAR:-default}` → default, as compose resolves it when VAR is unset. */
const resolve = (value: string): string => value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');

const typeNames: Record<number, string> = {
  [proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT]: 'Int',
  [proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]: 'Keyword',
};
const expectedAttributes = Object.fromEntries(Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => [name, typeNames[type]]));

describe('docker-compose.temporal.yml', () => {
  it('is valid YAML with the five services', () => {
    expect(document.errors).toEqual([]);
    expect(document.warnings).toEqual([]);
    expect(Object.keys(compose.services).sort()).toEqual(
      ['temporal', 'temporal-admin-tools', 'temporal-postgresql', 'temporal-schema', 'temporal-ui'].sort(),
    );
  });

  it('uses the official images, with the server version the dev server embeds', async () => {
    expect(resolve(service('temporal-postgresql').image)).toMatch(/^postgres:\d+$/);
    expect(resolve(service('temporal-schema').image)).toMatch(/^temporalio\/admin-tools:1\.29\.\d/);
    expect(resolve(service('temporal-admin-tools').image)).toBe(resolve(service('temporal-schema').image));
    expect(resolve(service('temporal-ui').image)).toMatch(/^temporalio\/ui:2\.\d+\.\d+$/);
    const server = resolve(service('temporal').image);
    expect(server).toMatch(/^temporalio\/server:1\.29\.\d+$/);
    const cli = locateTemporalCli();
    if (cli) {
      const { stdout } = await run(cli, ['--version']);
      const embedded = /Server (\d+\.\d+)\./.exec(stdout)?.[1];
      expect(server.startsWith(`temporalio/server:${embedded}.`), `dev server is ${stdout.trim()}`).toBe(true);
    }
  });

  it('publishes the frontend on 7233 and the Web UI on 8233, nothing on opsflow’s own ports', () => {
    expect(service('temporal').ports).toEqual(['7233:7233']);
    expect(service('temporal-ui').ports).toEqual(['8233:8080']);
    expect(service('temporal-postgresql').ports).toBeUndefined();
    const hostPorts = Object.values(compose.services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':')[0]));
    expect(hostPorts).not.toContain('8080'); // opsflow's API (PORT)
    expect(hostPorts).not.toContain('54329'); // opsflow's embedded PostgreSQL
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('starts in order: database → schema → server → admin tools and UI', () => {
    expect(service('temporal-schema').depends_on).toEqual({ 'temporal-postgresql': { condition: 'service_healthy' } });
    expect(service('temporal').depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
    expect(service('temporal-admin-tools').depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    expect(service('temporal-ui').depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(compose.services, `${name} depends on ${dep}`).toHaveProperty([dep]);
        if (condition === 'service_healthy') expect(service(dep).healthcheck, `${dep} needs a healthcheck`).toBeDefined();
      }
    }
  });

  it('points the server at its own PostgreSQL and every client at the server', () => {
    const server = service('temporal').environment ?? {};
    expect(server).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'temporal-postgresql', BIND_ON_IP: '0.0.0.0' });
    expect(service('temporal-schema').environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'temporal-postgresql' });
    expect(service('temporal-admin-tools').environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(service('temporal-ui').environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(service('temporal-postgresql').volumes).toEqual(['temporal-postgresql-data:/var/lib/postgresql/data']);
    expect(compose.volumes).toHaveProperty(['temporal-postgresql-data']);
    // The dynamic config file the server reads is defined inline, so the compose file stands alone.
    const mounted = service('temporal').configs?.[0];
    expect(mounted?.target).toBe(`/etc/temporal/${server.DYNAMIC_CONFIG_FILE_PATH}`);
    expect(YAML.parse(compose.configs?.[mounted?.source ?? '']?.content ?? '')).toHaveProperty(['limit.maxIDLength']);
  });

  it('sets up both Temporal databases in the schema job', () => {
    const sh = script('temporal-schema');
    expect(sh).toContain('for db in temporal temporal_visibility');
    for (const step of ['create', 'setup-schema -v 0.0', 'update-schema -d']) expect(sh).toContain(step);
    expect(sh).toContain('/etc/temporal/schema/postgresql/v12/$dir/versioned');
  });

  it("registers exactly opsflow's search attributes in the admin-tools command", () => {
    const sh = script('temporal-admin-tools');
    const pairs = [...sh.matchAll(/--name (\w+) --type (\w+)/g)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(pairs)).toEqual(expectedAttributes);
    expect(expectedAttributes).toEqual({ TaskId: 'Int', TemplateId: 'Int', Submitter: 'Keyword', TaskStatus: 'Keyword' });
  });

  it('escapes every shell variable from compose interpolation', () => {
    for (const name of ['temporal-schema', 'temporal-admin-tools']) {
      const raw = (service(name).command ?? []).join('\n');
      // A lone `$NAME` or `${NAME}` would be replaced by compose (with the host's value) before the shell runs.
      expect(raw.replaceAll('$$', '')).not.toMatch(/\$/);
      expect(service(name).entrypoint).toEqual(['/bin/sh', '-c']);
    }
  });

  it('the admin-tools script really registers the namespace and search attributes, idempotently', async () => {
    const cli = locateTemporalCli();
    if (!cli) throw new Error('the Temporal CLI is missing (globalSetup builds it)');
    const address = inject('temporalAddress');
    const namespace = `compose-${crypto.randomBytes(4).toString('hex')}`;
    const env = {
      PATH: `${path.dirname(cli)}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? '/root',
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
    };
    // `temporal` inside the script must be the located CLI, even if it is named otherwise.
    const binDir = fs.mkdtempSync(path.join(inject('runDir'), 'compose-bin-'));
    fs.symlinkSync(cli, path.join(binDir, 'temporal'));
    env.PATH = `${binDir}:${env.PATH}`;
    for (let round = 1; round <= 2; round++) {
      const { stdout } = await run('/bin/sh', ['-c', script('temporal-admin-tools')], { env, timeout: 60_000 });
      expect(stdout, `round ${round}`).toContain(`Namespace ${namespace} and opsflow's search attributes are registered`);
    }
    expect(await registeredAttributes(address, namespace)).toMatchObject(expectedAttributes);
  });

  // What `opsflow api|worker` does at start against a cluster (TEMPORAL_ADDRESS) with a namespace
  // nobody created yet. The operator service said NOT_FOUND for a second after registration.
  it("opsflow's own start-up registration works on a brand-new namespace, and again", async () => {
    const address = inject('temporalAddress');
    const namespace = `fresh-${crypto.randomBytes(4).toString('hex')}`;
    const connection = await Connection.connect({ address });
    try {
      for (let round = 1; round <= 2; round++) {
        await ensureNamespace(connection, namespace);
        await ensureSearchAttributes(connection, namespace);
      }
    } finally {
      await connection.close();
    }
    expect(await registeredAttributes(address, namespace)).toEqual(expectedAttributes);
  });
});

async function registeredAttributes(address: string, namespace: string): Promise<Record<string, string | undefined>> {
  const connection = await Connection.connect({ address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    return Object.fromEntries(Object.entries(customAttributes ?? {}).map(([k, v]) => [k, typeNames[v]]));
  } finally {
    await connection.close();
  }
}
