import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import proxyaddr from 'proxy-addr';

/*
 * Who sent a request: the peer address, unless it is a proxy we were told to trust, in which
 * case X-Forwarded-For is read from the right, skipping trusted proxies, to the first address
 * that is not one. `true` trusts any peer (the left-most address is the client); a list holds
 * addresses, CIDR ranges ("10.0.0.0/8") or proxy-addr's names (loopback, linklocal, uniquelocal).
 */

export type TrustProxy = boolean | readonly string[];
export type TrustFunction = (address: string, hop: number) => boolean;

/** Compiles the setting once; an entry that is not an address, range or name throws a TypeError naming it. */
export function compileTrust(trustProxy: TrustProxy): TrustFunction {
  if (trustProxy === true) return () => true;
  if (trustProxy === false || trustProxy.length === 0) return () => false;
  return proxyaddr.compile([...trustProxy]);
}

export function clientAddress(request: IncomingMessage, trust: TrustFunction): string {
  return normalize(proxyaddr(request, trust));
}

/** `::ffff:127.0.0.1` is 127.0.0.1; anything longer than an address is cut. */
function normalize(address: string): string {
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return plain.slice(0, 64);
}
