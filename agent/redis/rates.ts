// Rates from INFO counters between two consecutive successful samples of one
// instance, and memory headroom. Pure functions: the Redis input keeps the
// previous snapshot.
import type { Headroom, RedisRates, Value } from '../../proto/index.js';
import { infoNumber, infoString } from './info.js';

export const RATE_COUNTERS = [
  'total_commands_processed',
  'total_net_input_bytes',
  'total_net_output_bytes',
  'keyspace_hits',
  'keyspace_misses',
  'evicted_keys',
  'expired_keys',
  'rejected_connections',
] as const;
type Counter = (typeof RATE_COUNTERS)[number];

/** What rates need from one sample. */
export interface RateSnapshot {
  atMs: number;
  runId: string;
  uptimeSeconds: number;
  counters: Record<Counter, number>;
}

export function rateSnapshot(info: Record<string, Value>, atMs: number): RateSnapshot {
  const counters = {} as Record<Counter, number>;
  for (const c of RATE_COUNTERS) counters[c] = infoNumber(info, c) ?? 0;
  return { atMs, runId: infoString(info, 'run_id') ?? '', uptimeSeconds: infoNumber(info, 'uptime_in_seconds') ?? 0, counters };
}

/** The same snapshot from a number reader (the INFO fields picked while parsing; undefined = absent). */
export function rateSnapshotOf(num: (name: string) => number | undefined, runId: string, atMs: number): RateSnapshot {
  const counters = {} as Record<Counter, number>;
  for (const c of RATE_COUNTERS) counters[c] = num(c) ?? 0;
  return { atMs, runId, uptimeSeconds: num('uptime_in_seconds') ?? 0, counters };
}

export const INVALID_RATES: RedisRates = Object.freeze({
  valid: false,
  opsPerSec: 0,
  netInputBytesPerSec: 0,
  netOutputBytesPerSec: 0,
  keyspaceHitRatio: -1,
  evictedKeysPerSec: 0,
  expiredKeysPerSec: 0,
  rejectedConnectionsPerSec: 0,
});

/**
 * Rates over the real elapsed time between `prev` and `cur` (a missed tick just widens
 * the interval). Invalid when there is no previous sample, no time passed, the server
 * restarted (run_id changed or uptime went down) or any counter went backwards
 * (CONFIG RESETSTAT).
 */
export function computeRates(prev: RateSnapshot | undefined, cur: RateSnapshot): RedisRates {
  if (!prev) return { ...INVALID_RATES };
  const seconds = (cur.atMs - prev.atMs) / 1000;
  if (!(seconds > 0)) return { ...INVALID_RATES };
  if (prev.runId && cur.runId && prev.runId !== cur.runId) return { ...INVALID_RATES };
  if (cur.uptimeSeconds < prev.uptimeSeconds) return { ...INVALID_RATES };
  const d = {} as Record<Counter, number>;
  for (const c of RATE_COUNTERS) {
    d[c] = cur.counters[c] - prev.counters[c];
    if (d[c] < 0) return { ...INVALID_RATES };
  }
  const lookups = d.keyspace_hits + d.keyspace_misses;
  return {
    valid: true,
    opsPerSec: d.total_commands_processed / seconds,
    netInputBytesPerSec: d.total_net_input_bytes / seconds,
    netOutputBytesPerSec: d.total_net_output_bytes / seconds,
    keyspaceHitRatio: lookups > 0 ? d.keyspace_hits / lookups : -1,
    evictedKeysPerSec: d.evicted_keys / seconds,
    expiredKeysPerSec: d.expired_keys / seconds,
    rejectedConnectionsPerSec: d.rejected_connections / seconds,
  };
}

/**
 * Memory headroom: against maxmemory when one is set, otherwise against the host's
 * memory (the limit that actually applies), so the ratio always has a denominator.
 */
export function computeHeadroom(usedBytes: number, maxmemory: number, hostMemTotal: number): Headroom {
  const useMax = maxmemory > 0;
  const limitBytes = useMax ? maxmemory : hostMemTotal;
  return {
    usedBytes,
    limitBytes,
    limitSource: useMax ? 'maxmemory' : 'host_memory',
    usedRatio: limitBytes > 0 ? usedBytes / limitBytes : 0,
  };
}
