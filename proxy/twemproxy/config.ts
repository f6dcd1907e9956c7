// What the stats need from a nutcracker pool config (YAML): each pool's ejection settings
// and its servers' addresses. nutcracker 0.5.0 stamps server_ejected_at when it ejects a
// server and never clears it, so "is the server out of the ring now" needs the pool's
// server_retry_timeout: ejected while ejected_at + server_retry_timeout is in the future.
import { parse } from 'yaml';
import { ProxyParseError, isObject } from '../json.js';

/** nutcracker's defaults (nc_conf.h). */
export const NUTCRACKER_DEFAULT_RETRY_TIMEOUT_MS = 30_000;
export const NUTCRACKER_DEFAULT_FAILURE_LIMIT = 2;

export interface NutcrackerPoolConfig {
  name: string;
  listen: string;
  autoEjectHosts: boolean;
  serverRetryTimeoutMs: number;
  serverFailureLimit: number;
  /** By the server's stats key: its name, else host:port (just host for port 11211). */
  servers: Array<{ key: string; address: string; weight: number }>;
}

const DOC = 'nutcracker config';

function serverEntry(pool: string, i: number, line: unknown): { key: string; address: string; weight: number } {
  if (typeof line !== 'string') throw new ProxyParseError(DOC, `${pool}.servers[${i}]`, 'expected "host:port:weight [name]"');
  const m = /^(\S+):(\d+):(\d+)(?:\s+(\S+))?$/.exec(line.trim());
  if (!m) throw new ProxyParseError(DOC, `${pool}.servers[${i}]`, `expected "host:port:weight [name]", got ${JSON.stringify(line)}`);
  const [, host, port, weight, name] = m as unknown as [string, string, string, string, string | undefined];
  const address = `${host}:${port}`;
  return { key: name ?? (port === '11211' ? host : address), address, weight: Number(weight) };
}

/** Parse a nutcracker YAML config (text). */
export function parseNutcrackerConfig(text: string): NutcrackerPoolConfig[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ProxyParseError(DOC, '', `malformed YAML (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  if (!isObject(doc)) throw new ProxyParseError(DOC, '', 'expected a mapping of pool names');
  return Object.entries(doc).map(([name, p]) => {
    if (!isObject(p)) throw new ProxyParseError(DOC, name, 'expected a pool mapping');
    const servers = Array.isArray(p.servers) ? p.servers.map((s, i) => serverEntry(name, i, s)) : [];
    const num = (k: string, dflt: number): number => {
      if (p[k] === undefined) return dflt;
      if (typeof p[k] !== 'number' || !Number.isFinite(p[k])) throw new ProxyParseError(DOC, `${name}.${k}`, 'expected a number');
      return p[k] as number;
    };
    return {
      name,
      listen: typeof p.listen === 'string' ? p.listen : '',
      autoEjectHosts: p.auto_eject_hosts === true,
      serverRetryTimeoutMs: num('server_retry_timeout', NUTCRACKER_DEFAULT_RETRY_TIMEOUT_MS),
      serverFailureLimit: num('server_failure_limit', NUTCRACKER_DEFAULT_FAILURE_LIMIT),
      servers,
    };
  });
}
