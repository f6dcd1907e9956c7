// Per-second rates between two nutcracker stats documents of the same proxy. Every
// cumulative counter (see isTwemproxyGauge) gets a rate; a restart (uptime going down or
// a different start time) invalidates them all.
import { isTwemproxyGauge, type TwemproxyPool, type TwemproxyServer, type TwemproxyStats } from './parse.js';

/** Counter name → per-second rate, plus `errors` (the sum of the error counters). */
export type TwemproxyCounterRates = Record<string, number>;

export interface TwemproxyServerRates {
  rates: TwemproxyCounterRates;
  /** The server was ejected (again) during the interval: its server_ejected_at changed. */
  newlyEjected: boolean;
}

export interface TwemproxyRateResult {
  valid: boolean;
  reset: boolean;
  reason: string;
  seconds: number;
  /** New client connections per second (total_connections). */
  connectionsPerSec: number;
  /** By pool name; pool rates include the sums of its servers' counters. */
  pools: Record<string, TwemproxyCounterRates>;
  /** By pool name, then server name. */
  servers: Record<string, Record<string, TwemproxyServerRates>>;
}

/** Error counters summed into `errors` per second. */
export const POOL_ERROR_COUNTERS = ['client_err', 'forward_error', 'server_err', 'server_timedout'] as const;
export const SERVER_ERROR_COUNTERS = ['server_err', 'server_timedout'] as const;

/** A pool's counters with its servers' counters summed in (pool fields win a name clash). */
export function poolTotals(pool: TwemproxyPool): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of pool.servers) {
    for (const [k, v] of Object.entries(s.counters)) {
      if (k === 'server_ejected_at' || k in pool.counters) continue;
      out[k] = (out[k] ?? 0) + v;
    }
  }
  return { ...out, ...pool.counters };
}

function counterRates(
  prev: Record<string, number>,
  cur: Record<string, number>,
  seconds: number,
  errorKeys: readonly string[],
): TwemproxyCounterRates {
  const out: TwemproxyCounterRates = {};
  let errors = 0;
  for (const [k, v] of Object.entries(cur)) {
    if (isTwemproxyGauge(k)) continue;
    const p = prev[k];
    if (p === undefined || v < p) continue;
    out[k] = (v - p) / seconds;
    if (errorKeys.includes(k)) errors += v - p;
  }
  out.errors = errors / seconds;
  return out;
}

const invalid = (reason: string, reset: boolean): TwemproxyRateResult => ({
  valid: false,
  reset,
  reason,
  seconds: 0,
  connectionsPerSec: 0,
  pools: {},
  servers: {},
});

/** Rates of `cur` (read at `curAtMs`) against `prev` (read at `prevAtMs`). Pure. */
export function twemproxyRates(
  prev: TwemproxyStats | undefined,
  prevAtMs: number,
  cur: TwemproxyStats,
  curAtMs: number,
): TwemproxyRateResult {
  if (!prev) return invalid('first sample', false);
  const seconds = (curAtMs - prevAtMs) / 1000;
  if (!(seconds > 0)) return invalid('no time passed', false);
  // nutcracker has no run id: a restart shows as uptime going down or a moved start time.
  const moved = Math.abs(cur.timestamp - cur.uptime - (prev.timestamp - prev.uptime)) > 2;
  if (cur.uptime < prev.uptime || moved) return invalid('nutcracker restarted (uptime went down)', true);
  if (cur.totalConnections < prev.totalConnections) return invalid('total_connections went down', true);

  const pools: Record<string, TwemproxyCounterRates> = {};
  const servers: Record<string, Record<string, TwemproxyServerRates>> = {};
  const prevPools = new Map(prev.pools.map((p) => [p.name, p]));
  for (const pool of cur.pools) {
    const pp = prevPools.get(pool.name);
    if (!pp) continue;
    pools[pool.name] = counterRates(poolTotals(pp), poolTotals(pool), seconds, POOL_ERROR_COUNTERS);
    const prevServers = new Map<string, TwemproxyServer>(pp.servers.map((s) => [s.name, s]));
    const byServer: Record<string, TwemproxyServerRates> = {};
    for (const s of pool.servers) {
      const ps = prevServers.get(s.name);
      if (!ps) continue;
      byServer[s.name] = {
        rates: counterRates(ps.counters, s.counters, seconds, SERVER_ERROR_COUNTERS),
        newlyEjected: s.ejectedAtMs > 0 && s.ejectedAtMs !== ps.ejectedAtMs,
      };
    }
    servers[pool.name] = byServer;
  }
  return {
    valid: true,
    reset: false,
    reason: '',
    seconds,
    connectionsPerSec: (cur.totalConnections - prev.totalConnections) / seconds,
    pools,
    servers,
  };
}
