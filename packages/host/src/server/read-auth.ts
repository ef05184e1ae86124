import net from 'node:net';

/** Whether reads (`GET` routes other than `/health`) need the bearer token: `host.readAuth`. */
export type ReadAuth = 'token' | 'none';

/**
 * True when `address` only accepts connections from this machine: `localhost`,
 * 127.0.0.0/8, `::1`, or an IPv4-mapped 127.x. Anything else — `0.0.0.0`, `::`, a
 * LAN address, another host name — is reachable from elsewhere, so it is not.
 */
export function isLoopbackAddress(address: string): boolean {
  const a = address.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (a === 'localhost') return true;
  if (net.isIPv4(a)) return a.startsWith('127.');
  if (!net.isIPv6(a)) return false;
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

/**
 * The effective `host.readAuth`: as configured, else `token` when the server listens
 * on an address other machines can reach (task titles, descriptions, costs and agent
 * logs are not for the network) and `none` on loopback, where only local users reach it.
 */
export function resolveReadAuth(host: { address: string; readAuth?: ReadAuth | undefined }): ReadAuth {
  return host.readAuth ?? (isLoopbackAddress(host.address) ? 'none' : 'token');
}
