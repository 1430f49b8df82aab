// The allowed-target check, done before any connection: a host outside
// OPSFLOW_ALLOWED_TARGETS is refused and nothing is sent to it.
import dns from 'node:dns/promises';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Resolves a host name to its addresses (the system resolver, as a connect would use it). */
export type Lookup = (host: string) => Promise<string[]>;

const systemLookup: Lookup = async (host) => (await dns.lookup(host, { all: true })).map((a) => a.address);

export class TargetNotAllowedError extends Error {}

/**
 * An IP literal as the kernel reads it, or null when it names no single destination. Only
 * strict literals (net.isIP: dotted quad, IPv6) count; other spellings (`2130706433`, `0x7f.1`)
 * go to the resolver like any name, which is what the connect would do with them. IPv6 text is
 * canonicalised by the WHATWG URL parser first: ipaddr.js reads the IPv4-compatible `::a.b.c.d`
 * as IPv4-mapped (`::ffff:a.b.c.d`), which would judge an IPv6 destination by an IPv4 address.
 * IPv4-mapped addresses are judged (and connected to) as the IPv4 address they carry.
 */
function parseLiteral(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const family = net.isIP(address);
  if (family === 4) return ipaddr.IPv4.parse(address);
  if (family !== 6) return null;
  let canonical: string;
  try {
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1); // refuses zone ids (fe80::1%eth0)
  } catch {
    return null;
  }
  const ip = ipaddr.IPv6.parse(canonical);
  return ip.isIPv4MappedAddress() ? ip.toIPv4Address() : ip;
}

function allowed(ip: ipaddr.IPv4 | ipaddr.IPv6, cidrs: readonly Cidr[]): boolean {
  return cidrs.some(([range, bits]) => range.kind() === ip.kind() && ip.match([range, bits]));
}

function describe(cidrs: readonly Cidr[]): string {
  return cidrs.map(([range, bits]) => `${range.toString()}/${bits}`).join(', ');
}

/**
 * Resolves `host` and returns the address to connect to — the checked address itself, as an IP
 * literal, so no second DNS answer can change where the connection goes — or throws
 * TargetNotAllowedError. Every address a name resolves to must be allowed.
 */
export async function resolveAllowedTarget(host: string, cidrs: readonly Cidr[], lookup: Lookup = systemLookup): Promise<string> {
  const literal = net.isIP(host) !== 0;
  const addresses = literal ? [host] : await lookup(host);
  if (addresses.length === 0) throw new TargetNotAllowedError(`${host}: name does not resolve`);
  let first: string | undefined;
  for (const address of addresses) {
    const ip = parseLiteral(address);
    if (ip === null || !allowed(ip, cidrs)) {
      throw new TargetNotAllowedError(
        `target ${host}${address === host ? '' : ` (${address})`} is not in OPSFLOW_ALLOWED_TARGETS (${describe(cidrs)}); nothing was sent to it`,
      );
    }
    first ??= ip.toString();
  }
  return first as string;
}
