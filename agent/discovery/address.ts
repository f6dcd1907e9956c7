// Listen addresses → addresses this host can connect to.
import type { ListenSocket } from './types.js';

export const isAnyAddress = (ip: string): boolean => ip === '0.0.0.0' || ip === '::' || ip === '*' || ip === '';
export const isLoopback = (ip: string): boolean =>
  ip === '::1' || ip === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(ip) || /^::ffff:127\./.test(ip);

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host to dial for a socket bound to `ip`: a wildcard bind is reached through loopback. */
export function connectHost(ip: string, family: 4 | 6): string {
  if (isAnyAddress(ip)) return family === 6 ? '::1' : '127.0.0.1';
  return ip;
}

/**
 * The best address to reach `port` among the sockets bound to it: IPv4 loopback (or wildcard),
 * then IPv6 loopback (or wildcard), then any other local address.
 */
export function pickConnectHost(sockets: readonly ListenSocket[], port: number): string | undefined {
  const onPort = sockets.filter((s) => s.port === port);
  const rank = (s: ListenSocket): number => {
    if (s.family === 4 && (isAnyAddress(s.ip) || isLoopback(s.ip))) return 0;
    if (s.family === 6 && (isAnyAddress(s.ip) || isLoopback(s.ip))) return 1;
    return 2;
  };
  const best = [...onPort].sort((a, b) => rank(a) - rank(b))[0];
  return best && connectHost(best.ip, best.family);
}

/** "0.0.0.0:11080", ":11080", "[::]:11080", "10.0.0.5:19000" → a connectable host and port. */
export function connectableHostPort(addr: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d{1,5})$/.exec(addr.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (!(port > 0 && port < 65536)) return undefined;
  const host = m[1] ?? m[2] ?? '';
  const v6 = m[1] !== undefined;
  return { host: isAnyAddress(host) ? (v6 ? '::1' : '127.0.0.1') : host, port };
}
