// A nutcracker stats document (+ optional rates) → one ProxySample (kind "twemproxy"). Pure.
import type { ProxyItem, ProxySample } from '../../proto/index.js';
import { flag, float, int, str, type Fields } from '../fields.js';
import type { NutcrackerPoolConfig } from './config.js';
import type { TwemproxyServer, TwemproxyStats } from './parse.js';
import { poolTotals, type TwemproxyCounterRates, type TwemproxyRateResult } from './rates.js';

function rateFields(f: Fields, rates: TwemproxyCounterRates | undefined): void {
  if (!rates) return;
  for (const [k, v] of Object.entries(rates)) f[`${k}_per_sec`] = float(v);
}

export interface TwemproxySampleOptions {
  /** The stats address polled (host:port), reported as ProxySample.address. */
  address: string;
  /** ProxySample.name; default the document's `source` (hostname). */
  name?: string;
  rates?: TwemproxyRateResult;
  /**
   * The proxy's pool config (parseNutcrackerConfig). With it, `ejected` means "out of the
   * ring now" (ejected_at + server_retry_timeout still ahead) and servers get their
   * `address`; without it, `ejected` means "ejected at some point since start", because
   * nutcracker 0.5.0 never clears server_ejected_at.
   */
  pools?: readonly NutcrackerPoolConfig[];
}

/** Is `s` out of the ring at the document's timestamp? */
function ejectedNow(s: TwemproxyServer, pool: NutcrackerPoolConfig | undefined, timestampSec: number): boolean {
  if (!s.ejected) return false;
  if (!pool) return true;
  // The stamp is µs, the document time whole seconds: compare at the end of that second.
  return s.ejectedAtMs + pool.serverRetryTimeoutMs > timestampSec * 1000 + 999;
}

export function twemproxySample(stats: TwemproxyStats, opts: TwemproxySampleOptions): ProxySample {
  const rates = opts.rates;
  const items: ProxyItem[] = [];
  let servers = 0;
  let ejected = 0;
  const configs = new Map((opts.pools ?? []).map((p) => [p.name, p]));
  for (const pool of stats.pools) {
    const cfg = configs.get(pool.name);
    const pf: Fields = {};
    for (const [k, v] of Object.entries(poolTotals(pool))) pf[k] = int(v);
    const poolEjected = pool.servers.filter((s) => ejectedNow(s, cfg, stats.timestamp)).length;
    pf.servers = int(pool.servers.length);
    pf.servers_ejected = int(poolEjected);
    if (rates?.valid) rateFields(pf, rates.pools[pool.name]);
    items.push({ kind: 'pool', tags: { pool: pool.name }, fields: pf });
    servers += pool.servers.length;
    ejected += poolEjected;

    for (const s of pool.servers) {
      const sf: Fields = {};
      for (const [k, v] of Object.entries(s.counters)) if (k !== 'server_ejected_at') sf[k] = int(v);
      sf.ejected = flag(ejectedNow(s, cfg, stats.timestamp));
      sf.ejected_at_ms = int(s.ejectedAtMs);
      const address = cfg?.servers.find((c) => c.key === s.name)?.address;
      if (address) sf.address = str(address);
      const sr = rates?.valid ? rates.servers[pool.name]?.[s.name] : undefined;
      if (sr) {
        rateFields(sf, sr.rates);
        sf.newly_ejected = flag(sr.newlyEjected);
      }
      items.push({ kind: 'server', tags: { pool: pool.name, server: s.name }, fields: sf });
    }
  }

  const f: Fields = {
    source: str(stats.source),
    version: str(stats.version),
    uptime: int(stats.uptime),
    timestamp: int(stats.timestamp),
    total_connections: int(stats.totalConnections),
    curr_connections: int(stats.currConnections),
    pools: int(stats.pools.length),
    servers: int(servers),
    servers_ejected: int(ejected),
  };
  if (rates) {
    f.rates_valid = flag(rates.valid);
    f.counters_reset = flag(rates.reset);
  }
  if (rates?.valid) {
    f.connections_per_sec = float(rates.connectionsPerSec);
    // Proxy-wide sums of the pool rates most dashboards start with.
    for (const k of ['requests', 'request_bytes', 'responses', 'response_bytes', 'errors', 'server_ejects']) {
      let sum = 0;
      for (const p of Object.values(rates.pools)) sum += p[k] ?? 0;
      f[`${k}_per_sec`] = float(sum);
    }
  }
  return { kind: 'twemproxy', address: opts.address, name: opts.name ?? stats.source, up: true, error: '', fields: f, items };
}
