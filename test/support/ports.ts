import fs from 'node:fs';
import net from 'node:net';

/**
 * A TCP port that was free a moment ago on 127.0.0.1, picked below the kernel's ephemeral range.
 * Ports asked for with bind(0) (a Temporal dev server's internal services, outgoing connections)
 * come from that range, so another process cannot be handed this port between our pick and its use.
 */
export async function freePort(): Promise<number> {
  const low = 10_000;
  const high = ephemeralRangeStart() - 1;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${low} and ${high}`);
}

function ephemeralRangeStart(): number {
  try {
    const first = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 20_000) return first;
  } catch {
    // not Linux: the IANA ephemeral range
  }
  return 49_152;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
