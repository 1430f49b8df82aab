// loadConfig: defaults, and one clear line naming the variable for every bad value.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../src/config';

function errorFor(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has working defaults for every setting', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      DATABASE_URL: undefined,
      OPSFLOW_PG_PORT: 54329,
      TEMPORAL_ADDRESS: undefined,
      TEMPORAL_NAMESPACE: 'default',
      OPSFLOW_TEMPORAL_PORT: 7233,
      TEMPORAL_UI_PORT: 8233,
      OPSFLOW_TASK_QUEUE: 'opsflow-tasks',
      PORT: 8080,
      HOST: '127.0.0.1',
      OPSFLOW_DATA_DIR: '.data',
      OPSFLOW_MASTER_KEY: undefined,
      OPSFLOW_TIMEZONE: 'Asia/Shanghai',
      OPSFLOW_ALLOWED_TARGETS: '0.0.0.0/0,::/0',
      OPSFLOW_FOUR_EYES: true,
      OPSFLOW_TRUSTED_PROXIES: ['loopback'],
      LOG_LEVEL: 'info',
    });
    expect(config.dataDir).toBe(path.resolve('.data'));
    expect(config.allowedTargets).toHaveLength(2);
  });

  it('parses good values into typed settings', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://u:p@db.internal:5432/opsflow',
      OPSFLOW_PG_PORT: '15432',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      PORT: '65535',
      OPSFLOW_DATA_DIR: '/var/lib/opsflow',
      OPSFLOW_MASTER_KEY: 'ab'.repeat(32),
      OPSFLOW_TIMEZONE: 'UTC',
      OPSFLOW_ALLOWED_TARGETS: ' 127.0.0.0/8 , 10.0.0.0/8,fd00::/8 ',
      OPSFLOW_FOUR_EYES: 'false',
      LOG_LEVEL: 'debug',
    });
    expect(config.PORT).toBe(65535);
    expect(config.OPSFLOW_PG_PORT).toBe(15432);
    expect(config.OPSFLOW_FOUR_EYES).toBe(false);
    expect(config.dataDir).toBe('/var/lib/opsflow');
    expect(loadConfig({ OPSFLOW_TRUSTED_PROXIES: 'none' }).OPSFLOW_TRUSTED_PROXIES).toBe(false);
    expect(loadConfig({ OPSFLOW_TRUSTED_PROXIES: 'loopback, 10.0.0.0/8,192.0.2.7' }).OPSFLOW_TRUSTED_PROXIES).toEqual(['loopback', '10.0.0.0/8', '192.0.2.7']);
    expect(config.allowedTargets.map(([ip, bits]) => `${ip.toString()}/${bits}`)).toEqual(['127.0.0.0/8', '10.0.0.0/8', 'fd00::/8']);
    // base64 of 32 bytes is the other accepted key form
    expect(loadConfig({ OPSFLOW_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }).OPSFLOW_MASTER_KEY).toHaveLength(44);
  });

  it('caps the runs per task at 100,000 and lets an operator lower it', () => {
    expect(loadConfig({}).OPSFLOW_MAX_RUNS_PER_TASK).toBe(100_000);
    expect(loadConfig({ OPSFLOW_MAX_RUNS_PER_TASK: '5000' }).OPSFLOW_MAX_RUNS_PER_TASK).toBe(5000);
    expect(errorFor({ OPSFLOW_MAX_RUNS_PER_TASK: '100001' }).message).toMatch(/^OPSFLOW_MAX_RUNS_PER_TASK/);
    expect(errorFor({ OPSFLOW_MAX_RUNS_PER_TASK: '0' }).message).toMatch(/^OPSFLOW_MAX_RUNS_PER_TASK/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '', LOG_LEVEL: '' })).toMatchObject({ PORT: 8080, DATABASE_URL: undefined, LOG_LEVEL: 'info' });
  });

  const bad: [string, string][] = [
    ['DATABASE_URL', 'mysql://db/opsflow'],
    ['DATABASE_URL', 'not a url'],
    ['OPSFLOW_PG_PORT', 'abc'],
    ['OPSFLOW_PG_PORT', '0'],
    ['TEMPORAL_ADDRESS', 'temporal.internal'],
    ['TEMPORAL_ADDRESS', 'temporal.internal:port'],
    ['OPSFLOW_TEMPORAL_PORT', '70000'],
    ['TEMPORAL_UI_PORT', '-1'],
    ['PORT', 'abc'],
    ['PORT', '8080.5'],
    ['PORT', '0x50'],
    ['PORT', '1e3'],
    ['PORT', ' 80'],
    ['PORT', '65536'],
    ['OPSFLOW_MASTER_KEY', 'too-short'],
    ['OPSFLOW_MASTER_KEY', 'ab'.repeat(31) + 'a'],
    ['OPSFLOW_TIMEZONE', 'Mars/Olympus_Mons'],
    ['OPSFLOW_ALLOWED_TARGETS', '10.0.0.0/33'],
    ['OPSFLOW_ALLOWED_TARGETS', '127.0.0.0/8,example.com'],
    ['OPSFLOW_ALLOWED_TARGETS', ' , '],
    ['OPSFLOW_FOUR_EYES', 'yes'],
    ['OPSFLOW_TRUSTED_PROXIES', 'everyone'],
    ['OPSFLOW_TRUSTED_PROXIES', 'loopback,10.0.0.0/40'],
    ['LOG_LEVEL', 'verbose'],
    ['PORT', 'abc\nsecond line'],
  ];

  it.each(bad)('%s=%j yields one line naming the variable and what it expects', (name, value) => {
    const err = errorFor({ [name]: value });
    expect(err.message.split('\n')).toHaveLength(1);
    expect(err.message.startsWith(`${name}`)).toBe(true);
    expect(err.message).toMatch(/ is invalid: expected \S/);
  });

  it('names the bad variable, not another, when several are set', () => {
    const err = errorFor({ PORT: '8081', LOG_LEVEL: 'info', OPSFLOW_TIMEZONE: 'Nowhere/Land' });
    expect(err.message).toMatch(/^OPSFLOW_TIMEZONE="Nowhere\/Land" is invalid: expected an IANA time zone/);
  });

  it('shows ordinary values but never a secret one', () => {
    expect(errorFor({ PORT: 'abc' }).message).toBe('PORT="abc" is invalid: expected a TCP port 1-65535 for the HTTP API');
    const key = 'f'.repeat(63); // a typo away from a real key
    const keyErr = errorFor({ OPSFLOW_MASTER_KEY: key });
    expect(keyErr.message).not.toContain(key);
    expect(keyErr.message).toMatch(/^OPSFLOW_MASTER_KEY \(value hidden\) is invalid: expected 64 hex characters/);
    const urlErr = errorFor({ DATABASE_URL: 'mysql://admin:s3cret@db/x' });
    expect(urlErr.message).not.toContain('s3cret');
    expect(urlErr.message).toMatch(/^DATABASE_URL \(value hidden\) is invalid/);
  });

  it('lists every variable it reads, and the README documents each one', () => {
    expect(CONFIG_VARIABLES).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'OPSFLOW_PG_PORT', 'TEMPORAL_ADDRESS', 'PORT', 'OPSFLOW_MASTER_KEY', 'LOG_LEVEL']),
    );
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    for (const name of CONFIG_VARIABLES) expect(readme, `README documents ${name}`).toContain(`| \`${name}\``);
  });
});
