// Placement benchmark (run on demand: npm run bench -- placement).
// 10,000 hosts in the capacity table; latency of a 3-instance request and of a 30-instance
// request spread over idcs (groups of 2 with anti-affinity), every host filtered and scored.
//  1. In process: the scheduler alone (Placement.place, which also reserves) — the figure the
//     p99 ≤ 20 ms target is about.
//  2. End to end: a real collector process fed the 10,000 hosts over real gRPC streams, the
//     requests as HTTP POSTs (fastify validation, JSON, loopback TCP included).
// Every placement is released afterwards (not timed), so each one sees the same table.
import { performance } from 'node:perf_hooks';
import { createLogger } from '../../common/index.js';
import { Placement, resolvePlacementConfig, type PlacementRequest } from '../../collector/placement/index.js';
import type { HostRecord } from '../../collector/state.js';
import { harness } from '../harness/index.js';
import { GB, capacityReport, fullSpec, place, placementAction, SyntheticHost, type HostSpec } from '../placement-support.js';
import { fixed, percentile, table } from './lib.js';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 10_000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const HTTP_ITERATIONS = Number(process.env.BENCH_HTTP_ITERATIONS ?? 500);
const WITH_HTTP = process.env.BENCH_HTTP !== '0';

/** Deterministic pseudo-random numbers (mulberry32), so every run builds the same fleet. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 5 cities × 4 idcs, 70 % prod, 10 % proxy nodes, every tenth host with two idle instances. */
function fleetSpecs(n: number): HostSpec[] {
  const r = rng(4711);
  const cities = ['sz', 'gz', 'bj', 'sh', 'hz'];
  return Array.from({ length: n }, (_, i) => {
    const city = cities[i % cities.length]!;
    const memTotal = [64, 128, 256][Math.floor(r() * 3)]! * GB;
    return {
      hostId: `host-${String(i).padStart(5, '0')}`,
      labels: {
        env: r() < 0.7 ? 'prod' : 'test',
        city,
        idc: `${city}-${Math.floor(r() * 4)}`,
        module: `m${Math.floor(r() * 8)}`,
        storage: r() < 0.8 ? 'cluster' : 'standalone',
      },
      roles: r() < 0.1 ? ['proxy'] : ['redis'],
      intervalMs: 3_600_000,
      cpuCores: [16, 32, 64][Math.floor(r() * 3)]!,
      cpuPercent: Math.round(r() * 90),
      memTotalBytes: memTotal,
      memAvailableBytes: Math.round(memTotal * (0.3 + r() * 0.6)),
      maxmemoryReservedBytes: Math.round(memTotal * r() * 0.8),
      instanceSlots: 16,
      runningInstances: Math.floor(r() * 16),
      idle:
        i % 10 === 0
          ? [
              { address: `10.${(i >> 8) & 255}.${i & 255}.1:6379`, maxmemoryBytes: 8 * GB },
              { address: `10.${(i >> 8) & 255}.${i & 255}.1:6380`, maxmemoryBytes: 0 },
            ]
          : [],
    };
  });
}

function hostRecord(s: Required<HostSpec>, report: ReturnType<typeof capacityReport>, now: number): HostRecord {
  return {
    id: s.hostId,
    labels: s.labels,
    roles: s.roles,
    agentVersion: 'bench',
    intervalMs: s.intervalMs,
    sessionId: 'bench',
    lastSeq: 1,
    lastReportAt: now,
    lastSeenAt: now,
    reportTimeMs: now,
    status: 'up',
    statusSince: now,
    host: report.host!,
    capacity: report.capacity!,
    agent: null,
    instances: report.redis.map((x) => x.address),
  };
}

const REQUESTS = {
  '3 instances': {
    role: 'redis',
    count: 3,
    memoryMb: 4096,
    labels: { env: 'prod', city: 'sz' },
    antiAffinity: 'group' as const,
    groupSize: 3,
  },
  '30 instances, spread by idc': {
    role: 'redis',
    count: 30,
    memoryMb: 4096,
    labels: { env: 'prod' },
    spreadBy: 'idc',
    antiAffinity: 'group' as const,
    groupSize: 2,
  },
};

function stats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]! };
}

async function inProcess(specs: HostSpec[]) {
  const placement = new Placement(resolvePlacementConfig({}), 3, createLogger('bench', 'silent'));
  const now = Date.now();
  const inputs = specs.map((s) => {
    const full = fullSpec(s);
    const report = capacityReport(full, 1, now);
    return { record: hostRecord(full, report, now), redis: report.redis };
  });
  const t0 = performance.now();
  for (const { record, redis } of inputs) placement.onReport(record, redis);
  const loadMs = performance.now() - t0;
  // Steady state: a report for a host already in the table.
  const t1 = performance.now();
  for (const { record, redis } of inputs) placement.onReport(record, redis);
  const records = inputs;
  const updateUs = ((performance.now() - t1) * 1000) / records.length;

  const out: Record<string, ReturnType<typeof stats> & { feasible: number }> = {};
  let n = 0;
  for (const [name, req] of Object.entries(REQUESTS)) {
    const times: number[] = [];
    let feasible = 0;
    for (let i = 0; i < ITERATIONS + 200; i++) {
      const request: PlacementRequest = { requestId: `b-${n++}`, strategy: undefined, spreadBy: undefined, ...req };
      const start = performance.now();
      const a = await placement.place(request);
      const took = performance.now() - start;
      if (a.status !== 200) throw new Error(`${name}: ${JSON.stringify(a.body)}`);
      feasible = (a.body.candidates as { feasible: number }).feasible;
      await placement.release(request.requestId);
      if (i >= 200) times.push(took); // the first 200 warm the JIT up
    }
    out[name] = { ...stats(times), feasible };
  }
  return { loadMs, updateUs, out };
}

async function endToEnd(specs: HostSpec[]) {
  const h = await harness();
  try {
    const collector = await h.collector();
    const t0 = performance.now();
    let next = 0;
    // Each synthetic host: its own stream, hello, one report, acked, stream closed (the host stays
    // fresh for 3 × its 1 h interval).
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < specs.length) {
          const host = await SyntheticHost.start(h, collector, specs[next++]!);
          host.close();
        }
      }),
    );
    const feedS = (performance.now() - t0) / 1000;
    const known = (await collector.api('/api/v1/capacity?fresh=true')).totals.all.hosts;
    if (known !== specs.length) throw new Error(`the collector has ${known} fresh hosts, expected ${specs.length}`);
    const out: Record<string, ReturnType<typeof stats>> = {};
    let n = 0;
    for (const [name, req] of Object.entries(REQUESTS)) {
      const times: number[] = [];
      for (let i = 0; i < HTTP_ITERATIONS + 50; i++) {
        const requestId = `http-${n++}`;
        const start = performance.now();
        const r = await place(collector, { requestId, ...req });
        const took = performance.now() - start;
        if (r.status !== 200) throw new Error(`${name}: ${JSON.stringify(r.body)}`);
        await placementAction(collector, requestId, 'release');
        if (i >= 50) times.push(took);
      }
      out[name] = stats(times);
    }
    return { feedS, out };
  } finally {
    await h.close();
  }
}

async function main() {
  const specs = fleetSpecs(HOSTS);
  console.log(
    `${HOSTS.toLocaleString('en-US')} hosts; every host filtered and scored; ${ITERATIONS} placements per request in process, ${HTTP_ITERATIONS} over HTTP`,
  );
  const p = await inProcess(specs);
  console.log(`table: ${fixed(p.loadMs, 1)} ms to load ${HOSTS} hosts; ${fixed(p.updateUs, 2)} µs per report for a known host`);
  console.log('\n## scheduler in process (Placement.place: filter, score, pick, reserve)');
  const rows: (string | number)[][] = [['request', 'feasible hosts', 'p50 ms', 'p99 ms', 'max ms', 'p99 per member ms']];
  for (const [name, s] of Object.entries(p.out)) {
    const count = REQUESTS[name as keyof typeof REQUESTS].count;
    rows.push([name, s.feasible, fixed(s.p50, 3), fixed(s.p99, 3), fixed(s.max, 2), fixed(s.p99 / count, 3)]);
  }
  console.log(table(rows));
  const three = p.out['3 instances']!;
  console.log(`target p99 ≤ 20 ms for the 3-instance request: ${three.p99 <= 20 ? 'met' : 'NOT met'} (${fixed(three.p99, 2)} ms)`);

  if (WITH_HTTP) {
    const e = await endToEnd(specs);
    console.log(
      `\n## end to end: real collector, ${HOSTS} hosts fed over real gRPC streams in ${fixed(e.feedS, 1)} s, POST /api/v1/placements`,
    );
    const hr: (string | number)[][] = [['request', 'p50 ms', 'p99 ms', 'max ms']];
    for (const [name, s] of Object.entries(e.out)) hr.push([name, fixed(s.p50, 2), fixed(s.p99, 2), fixed(s.max, 2)]);
    console.log(table(hr));
  }
  console.log('\nKubernetes for comparison (published, not measured here): ~100 pods/s on a 5,000-node cluster (PR #74041, 2019;');
  console.log('harness-capped), i.e. ≤ ~10 ms per pod; scheduler_perf 2026 at 5,000 nodes scoring every node 105–115 pods/s');
  console.log('(~9 ms per pod), 500–630 pods/s with node sampling (~1.6–2 ms per pod).');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
