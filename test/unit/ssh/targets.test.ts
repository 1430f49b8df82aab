// The allowed-target check (OPSFLOW_ALLOWED_TARGETS): every spelling of an address is judged by
// what the kernel will connect to, names are judged by every address they resolve to, and the
// address returned (the one the worker connects to) is the checked one, as an IP literal, so no
// second DNS answer can change where the connection goes. No traffic: lookups are injected.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseCidrList } from '../../../src/config';
import { resolveAllowedTarget, TargetNotAllowedError, type Lookup } from '../../../activities/targets';

const LOOPBACK = parseCidrList('127.0.0.0/8');
const TEN = parseCidrList('10.0.0.0/8');
const noDns: Lookup = () => Promise.reject(new Error('no DNS in this test'));

function answers(...addresses: string[]): Lookup {
  return (_host) => Promise.resolve(addresses);
}

async function refusal(host: string, cidrs = LOOPBACK, lookup: Lookup = noDns): Promise<unknown> {
  return resolveAllowedTarget(host, cidrs, lookup).then(
    (address) => `allowed, connect to ${address}`,
    (err: unknown) => err,
  );
}

describe('resolveAllowedTarget: IP literals', () => {
  it('allows a plain address inside the list and connects to it', async () => {
    expect(await resolveAllowedTarget('127.0.0.5', LOOPBACK, noDns)).toBe('127.0.0.5');
  });

  it.each(['172.16.0.101', '10.0.0.1', '0.0.0.0', '255.255.255.255'])('refuses %s outside 127.0.0.0/8', async (host) => {
    expect(await refusal(host)).toBeInstanceOf(TargetNotAllowedError);
  });

  it('judges an IPv4-mapped IPv6 address by its IPv4 address and connects to that address', async () => {
    expect(await refusal('::ffff:10.0.0.1')).toBeInstanceOf(TargetNotAllowedError);
    expect(await refusal('::ffff:a00:1')).toBeInstanceOf(TargetNotAllowedError);
    expect(await resolveAllowedTarget('::ffff:10.0.0.1', TEN, noDns)).toBe('10.0.0.1');
    expect(await resolveAllowedTarget('::FFFF:127.0.0.9', LOOPBACK, noDns)).toBe('127.0.0.9');
  });

  it('refuses IPv6 loopback and other IPv6 addresses when only IPv4 ranges are allowed', async () => {
    for (const host of ['::1', '0:0:0:0:0:0:0:1', 'fe80::1', '::']) expect(await refusal(host), host).toBeInstanceOf(TargetNotAllowedError);
  });

  it('refuses an IPv4-compatible IPv6 address (::a.b.c.d): it is an IPv6 destination, not the IPv4 one it spells', async () => {
    // ipaddr.js reads '::10.0.0.1' as IPv4-mapped; the kernel connects to the IPv6 address ::a00:1.
    expect(await refusal('::127.0.0.1')).toBeInstanceOf(TargetNotAllowedError);
    expect(await refusal('::10.0.0.1', TEN)).toBeInstanceOf(TargetNotAllowedError);
    expect(await resolveAllowedTarget('::10.0.0.1', parseCidrList('::/0'), noDns)).toBe('::a00:1');
  });

  it('refuses an IPv6 address with a zone index (it names no single destination)', async () => {
    expect(await refusal('fe80::1%lo', parseCidrList('::/0'))).toBeInstanceOf(TargetNotAllowedError);
  });

  it('allows IPv6 ranges for IPv6 addresses, and connects to the canonical form', async () => {
    expect(await resolveAllowedTarget('FD00:0::0:1', parseCidrList('fd00::/8'), noDns)).toBe('fd00::1');
    expect(await refusal('fe80::1', parseCidrList('fd00::/8'))).toBeInstanceOf(TargetNotAllowedError);
  });
});

describe('resolveAllowedTarget: other spellings of IPv4 (decimal, octal, hex, short forms)', () => {
  // getaddrinfo() reads these as numbers (inet_aton); they are judged and connected to by the
  // number they stand for, never by the text.
  const spellings: [string, string][] = [
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['167772161', '10.0.0.1'],
    ['0xa.0.0.1', '10.0.0.1'],
    ['012.0.0.1', '10.0.0.1'],
    ['0127.0.0.1', '87.0.0.1'], // octal 0127 = 87: not loopback although it reads like it
  ];
  // The system resolver does the numeric parsing (as it would for ssh2); an injected lookup
  // returns what getaddrinfo returns for these on glibc.
  const numeric: Lookup = (host) => {
    const hit = spellings.find(([text]) => text === host);
    return hit ? Promise.resolve([hit[1]]) : Promise.reject(new Error(`ENOTFOUND ${host}`));
  };

  it.each(spellings)('%s is judged as (and connected to as) %s', async (host, address) => {
    const inLoopback = address.startsWith('127.');
    const result = await refusal(host, LOOPBACK, numeric);
    if (inLoopback) expect(result).toBe(`allowed, connect to ${address}`);
    else expect(result).toBeInstanceOf(TargetNotAllowedError);
    const inTen = address.startsWith('10.');
    const ten = await refusal(host, TEN, numeric);
    if (inTen) expect(ten).toBe(`allowed, connect to ${address}`);
    else expect(ten).toBeInstanceOf(TargetNotAllowedError);
  });

  it('the spellings go through the system resolver, as ssh2 would, never through our own parser', async () => {
    const asked: string[] = [];
    const lookup: Lookup = (host) => {
      asked.push(host);
      return Promise.resolve(['10.0.0.1']);
    };
    await expect(resolveAllowedTarget('2130706433', LOOPBACK, lookup)).rejects.toBeInstanceOf(TargetNotAllowedError);
    expect(asked).toEqual(['2130706433']);
  });
});

describe('resolveAllowedTarget: host names', () => {
  it('refuses a name when any address it resolves to is outside the list', async () => {
    const err = await refusal('web01.example', LOOPBACK, answers('127.0.0.7', '10.0.0.1'));
    expect(err).toBeInstanceOf(TargetNotAllowedError);
    expect((err as Error).message).toMatch(/web01\.example \(10\.0\.0\.1\) is not in OPSFLOW_ALLOWED_TARGETS \(127\.0\.0\.0\/8\)/);
  });

  it('refuses a name that resolves to IPv4-mapped or IPv6 addresses outside the list', async () => {
    expect(await refusal('a.example', LOOPBACK, answers('::ffff:10.0.0.1'))).toBeInstanceOf(TargetNotAllowedError);
    expect(await refusal('localhost', LOOPBACK, answers('127.0.0.1', '::1'))).toBeInstanceOf(TargetNotAllowedError);
  });

  it('a trailing dot is the same name: judged by what it resolves to', async () => {
    expect(await resolveAllowedTarget('web01.example.', LOOPBACK, answers('127.0.0.8'))).toBe('127.0.0.8');
    expect(await refusal('web01.example.', LOOPBACK, answers('172.16.0.1'))).toBeInstanceOf(TargetNotAllowedError);
  });

  it('refuses a name that resolves to nothing', async () => {
    expect(await refusal('empty.example', LOOPBACK, answers())).toBeInstanceOf(TargetNotAllowedError);
  });

  it('returns the checked address as an IP literal, so a DNS answer that changes before connecting cannot redirect it', async () => {
    let calls = 0;
    // First answer allowed, every later one not (DNS rebinding).
    const rebinding: Lookup = () => Promise.resolve(calls++ === 0 ? ['127.0.0.9'] : ['10.0.0.1']);
    const address = await resolveAllowedTarget('rebind.example', LOOPBACK, rebinding);
    expect(address).toBe('127.0.0.9');
    expect(net.isIP(address)).toBe(4); // ssh2 connects to a literal: no second lookup happens
    expect(calls).toBe(1);
  });

  it('connects to the checked form of a resolved address (IPv4-mapped answers become IPv4)', async () => {
    expect(await resolveAllowedTarget('m.example', LOOPBACK, answers('::ffff:127.0.0.3'))).toBe('127.0.0.3');
  });
});
