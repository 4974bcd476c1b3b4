import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/*
 * Who sent a request: the peer address, unless it is a proxy we were told to trust, in which
 * case X-Forwarded-For is read from the right, skipping trusted proxies, to the first address
 * that is not one. `trustProxy: true` trusts any peer (the left-most address is the client).
 * Entries may be addresses or CIDR ranges ("10.0.0.0/8").
 */

export type TrustProxy = boolean | readonly string[];

const lists = new WeakMap<readonly string[], BlockList>();

export function clientAddress(request: IncomingMessage, trustProxy: TrustProxy): string {
  const peer = normalize(request.socket.remoteAddress ?? 'unknown');
  if (trustProxy === false) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => normalize(entry.trim()))
    .filter((entry) => entry !== '');
  if (forwarded.length === 0) return peer;
  if (trustProxy === true) return forwarded[0]!;
  const trusted = trustedList(trustProxy);
  if (!isTrusted(trusted, peer)) return peer;
  for (let i = forwarded.length - 1; i >= 0; i--) if (!isTrusted(trusted, forwarded[i]!)) return forwarded[i]!;
  return forwarded[0]!;
}

function trustedList(entries: readonly string[]): BlockList {
  let list = lists.get(entries);
  if (list) return list;
  list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = isIP(address ?? '');
    if (!family) continue;
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits !== undefined && /^\d+$/.test(bits)) list.addSubnet(address!, Number(bits), type);
    else list.addAddress(address!, type);
  }
  lists.set(entries, list);
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** `::ffff:127.0.0.1` is 127.0.0.1; anything longer than an address is cut. */
function normalize(address: string): string {
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return plain.slice(0, 64);
}
