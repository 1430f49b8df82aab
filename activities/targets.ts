// The allowed-target check, done before any connection: a host outside
// OPSFLOW_ALLOWED_TARGETS is refused and nothing is sent to it.
import dns from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export class TargetNotAllowedError extends Error {}

function allowed(address: string, cidrs: readonly Cidr[]): boolean {
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return cidrs.some(([range, bits]) => range.kind() === ip.kind() && ip.match([range, bits]));
}

function describe(cidrs: readonly Cidr[]): string {
  return cidrs.map(([range, bits]) => `${range.toString()}/${bits}`).join(', ');
}

/** Resolves `host` and returns the address to connect to, or throws TargetNotAllowedError. */
export async function resolveAllowedTarget(host: string, cidrs: readonly Cidr[]): Promise<string> {
  const addresses = ipaddr.isValid(host) ? [host] : (await dns.lookup(host, { all: true })).map((a) => a.address);
  if (addresses.length === 0) throw new TargetNotAllowedError(`${host}: name does not resolve`);
  // Every address must be allowed: connecting by the checked address avoids DNS rebinding.
  const refused = addresses.find((a) => !allowed(a, cidrs));
  if (refused !== undefined) {
    throw new TargetNotAllowedError(
      `target ${host}${refused === host ? '' : ` (${refused})`} is not in OPSFLOW_ALLOWED_TARGETS (${describe(cidrs)}); nothing was sent to it`,
    );
  }
  return addresses[0] as string;
}
