// Capacity of this host as the fleet planner sees it, from this tick's Redis samples.
import type { Capacity, RedisSample } from '../proto/index.js';
import type { RedisInstanceConfig } from './config.js';

/**
 * running = instances that answered; reserved = sum of their maxmemory (0/unknown adds
 * nothing); idle = answering, no key in any db, and not assigned to a cluster in config.
 */
export function computeCapacity(instanceSlots: number, samples: RedisSample[], instances: RedisInstanceConfig[]): Capacity {
  const inCluster = new Set(instances.filter((i) => i.cluster).map((i) => i.address));
  let running = 0;
  let reserved = 0;
  const idle: string[] = [];
  for (const s of samples) {
    if (!s.up) continue;
    running++;
    if (s.maxmemory > 0) reserved += s.maxmemory;
    const keys = s.keyspace.reduce((n, db) => n + db.keys, 0);
    if (keys === 0 && !s.cluster && !inCluster.has(s.address)) idle.push(s.address);
  }
  return { instanceSlots, runningInstances: running, maxmemoryReservedBytes: reserved, idleInstances: idle.length, idleAddresses: idle };
}
