// A nutcracker stats document (+ optional rates) → one ProxySample (kind "twemproxy"). Pure.
import type { ProxyItem, ProxySample } from '../../proto/index.js';
import { flag, float, int, str, type Fields } from '../fields.js';
import type { TwemproxyStats } from './parse.js';
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
}

export function twemproxySample(stats: TwemproxyStats, opts: TwemproxySampleOptions): ProxySample {
  const rates = opts.rates;
  const items: ProxyItem[] = [];
  let servers = 0;
  let ejected = 0;
  for (const pool of stats.pools) {
    const pf: Fields = {};
    for (const [k, v] of Object.entries(poolTotals(pool))) pf[k] = int(v);
    const poolEjected = pool.servers.filter((s) => s.ejected).length;
    pf.servers = int(pool.servers.length);
    pf.servers_ejected = int(poolEjected);
    if (rates?.valid) rateFields(pf, rates.pools[pool.name]);
    items.push({ kind: 'pool', tags: { pool: pool.name }, fields: pf });
    servers += pool.servers.length;
    ejected += poolEjected;

    for (const s of pool.servers) {
      const sf: Fields = {};
      for (const [k, v] of Object.entries(s.counters)) if (k !== 'server_ejected_at') sf[k] = int(v);
      sf.ejected = flag(s.ejected);
      sf.ejected_at_ms = int(s.ejectedAtMs);
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
