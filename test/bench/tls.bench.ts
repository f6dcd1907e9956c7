// TLS benchmark (npm run bench -- tls): what TLS on the agent → collector link costs, side
// by side with plaintext in the same run.
//  1. Agent CPU per tick: a real agent (8 real Redis instances, 1 s interval) against a real
//     collector, plaintext and TLS phases alternated (A B A B) so machine load hits both alike.
//  2. Collector ingest: concurrent streams from the agent's own transport (CollectorLink) into
//     a real collector (embedded store), plaintext vs TLS; instance samples/s stored and
//     collector CPU.
// Target (issue 14): TLS costs the agent at most 10 % more CPU per tick.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CollectorLink, parseInfo } from '../../agent/index.js';
import { createLogger } from '../../common/index.js';
import { PROTOCOL_VERSION, type RedisSample } from '../../proto/index.js';
import { fixturePath } from '../fixtures.js';
import { harness, makePki, waitFor, type CollectorProcess, type Harness, type RedisServer, type TestPki } from '../harness/index.js';
import { cpuMs, fixed, table } from './lib.js';

const TICKS = Number(process.env.BENCH_TICKS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 20);
const INGEST_SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 10);

type Mode = 'plaintext' | 'tls';

function collectorConfig(mode: Mode, pki: TestPki): Record<string, unknown> {
  return mode === 'tls' ? { grpc: { tls: { certFile: pki.server.cert, keyFile: pki.server.key } } } : {};
}

async function agentPhase(h: Harness, rs: RedisServer[], mode: Mode, pki: TestPki): Promise<number> {
  const collector = await h.collector(collectorConfig(mode, pki));
  const agent = await h.agent(
    {
      hostId: `bench-${mode}`,
      interval: '1s',
      redis: rs.map((r) => ({ address: r.address })),
      collector: mode === 'tls' ? { tls: { caFile: pki.ca.cert } } : {},
    },
    { collector },
  );
  const seqOf = async () => (await collector.request(`/api/v1/hosts/bench-${mode}`)).body as { lastSeq?: number };
  const seq = async () => (await seqOf()).lastSeq ?? 0;
  // Steady state only: the first ticks compile the hot path.
  await waitFor(async () => (await seq()) >= 5, { timeoutMs: 60_000, what: 'agent warm' });
  const seq0 = await seq();
  const cpu0 = cpuMs(agent.pid);
  await waitFor(async () => (await seq()) >= seq0 + TICKS, { timeoutMs: TICKS * 1000 + 60_000, intervalMs: 250, what: `${TICKS} ticks` });
  const perTick = (cpuMs(agent.pid) - cpu0) / ((await seq()) - seq0);
  await agent.stop();
  await collector.stop();
  return perTick;
}

/** One INFO ALL capture as a sample, repeated as `n` instances of a report. */
function samples(n: number): RedisSample[] {
  const info = parseInfo(fs.readFileSync(path.join(fixturePath('redis'), 'info-all-master-7.0.15.txt'), 'utf8'));
  return Array.from({ length: n }, (_, i): RedisSample => ({
    ...info,
    address: `10.1.0.${i}:6379`,
    cluster: 'bench',
    group: `g${i}`,
    up: true,
    error: '',
    sampledAtMs: 0,
    maxmemory: 2 ** 32,
    maxclients: 10_000,
    unavailable: [],
    slowlog: [],
    rates: {
      valid: true,
      opsPerSec: 500,
      netInputBytesPerSec: 1e5,
      netOutputBytesPerSec: 1e5,
      keyspaceHitRatio: 0.95,
      evictedKeysPerSec: 0,
      expiredKeysPerSec: 0,
      rejectedConnectionsPerSec: 0,
    },
    headroom: { usedBytes: 1e7, limitBytes: 2 ** 32, limitSource: 'maxmemory', usedRatio: 0.002 },
  }));
}

const IN_FLIGHT = 16;

/** Streams through CollectorLink for INGEST_SECONDS, keeping IN_FLIGHT reports unacked each; returns reports acked. */
async function ingest(collector: CollectorProcess, mode: Mode, pki: TestPki): Promise<number> {
  const [host, port] = [collector.grpcAddress.replace(/:\d+$/, ''), Number(collector.grpcAddress.split(':').pop())];
  const logger = createLogger('bench', 'warn');
  const batch = samples(8);
  const until = Date.now() + INGEST_SECONDS * 1000;
  const t0 = Date.now() - 200 * 86_400_000;
  const one = async (i: number): Promise<number> => {
    const link = new CollectorLink({
      addresses: [{ host, port, address: collector.grpcAddress }],
      token: collector.tokens[0]!,
      maxMessageBytes: 8 << 20,
      buffer: { maxReports: 64, maxBytes: 256 << 20 },
      logger,
      hello: {
        hostId: `ingest-${mode}-${i}`,
        labels: {},
        roles: ['redis'],
        agentVersion: 'bench',
        intervalMs: 10_000,
        sessionId: `${mode}-${i}-${Date.now()}`,
        protocolVersion: PROTOCOL_VERSION,
      },
      tls: mode === 'tls' ? { files: { ca: { file: pki.ca.cert, key: 'caFile' } } } : undefined,
    });
    link.start();
    let sent = 0;
    while (Date.now() < until) {
      if (link.stats().bufferedReports < IN_FLIGHT) {
        const ts = t0 + ++sent * 1000;
        link.submit({ timestampMs: ts, redis: batch.map((s) => ({ ...s, sampledAtMs: ts })), proxies: [], events: [] } as Parameters<
          CollectorLink['submit']
        >[0]);
      } else {
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    await link.flush(60_000);
    const acked = sent - link.stats().bufferedReports;
    await link.stop();
    return acked;
  };
  return (await Promise.all(Array.from({ length: STREAMS }, (_, i) => one(i)))).reduce((a, b) => a + b, 0);
}

async function ingestPhase(h: Harness, mode: Mode, pki: TestPki) {
  const collector = await h.collector(collectorConfig(mode, pki));
  const cpu0 = cpuMs(collector.pid);
  const gen0 = process.cpuUsage();
  const start = Date.now();
  const reports = await ingest(collector, mode, pki);
  const gen = process.cpuUsage(gen0);
  await waitFor(async () => (await collector.api<{ sinkQueue: number }>('/healthz')).sinkQueue === 0, {
    timeoutMs: 120_000,
    intervalMs: 100,
    what: 'sink drained',
  });
  const wall = (Date.now() - start) / 1000;
  const cpu = cpuMs(collector.pid) - cpu0;
  await collector.stop();
  return {
    samplesPerSec: (reports * 8) / wall,
    cpuPercent: (cpu / (wall * 1000)) * 100,
    cpuMsPerSample: cpu / (reports * 8),
    generatorCpuPercent: ((gen.user + gen.system) / 1000 / (wall * 1000)) * 100,
  };
}

async function main() {
  const pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-pki-'));
  const h = await harness();
  try {
    const pki = makePki(pkiDir);
    const rs = await Promise.all(Array.from({ length: 8 }, () => h.redis()));
    await Promise.all(
      rs.map(async (r) => {
        const p = r.client().pipeline();
        for (let i = 0; i < 2000; i++) p.set(`k${i}`, 'v').get(`k${i}`).hset('h', `f${i}`, i);
        await p.exec();
      }),
    );
    console.log(
      `# tls benchmark: ${TICKS} ticks x ${ROUNDS} rounds per mode, 8 real Redis instances, ${STREAMS} ingest streams x ${INGEST_SECONDS} s, node ${process.version}, ${new Date().toISOString()}`,
    );
    const ticks: Record<Mode, number[]> = { plaintext: [], tls: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of ['plaintext', 'tls'] as const) ticks[mode].push(await agentPhase(h, rs, mode, pki));
    }
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [plain, tls] = [avg(ticks.plaintext), avg(ticks.tls)];
    console.log('\n## agent CPU per tick (8 instances + host, 1 s interval)');
    console.log(
      table([
        ['', 'plaintext', 'TLS', 'TLS / plaintext'],
        ['CPU ms per tick (mean of rounds)', fixed(plain), fixed(tls), `${fixed(tls / plain, 3)} (${fixed((tls / plain - 1) * 100, 1)} %)`],
        ['rounds', ticks.plaintext.map((x) => fixed(x)).join(' '), ticks.tls.map((x) => fixed(x)).join(' '), ''],
      ]),
    );
    console.log(
      tls / plain <= 1.1
        ? 'target met: TLS costs the agent <= 10 % CPU per tick'
        : 'TARGET MISSED: TLS costs the agent more than 10 % CPU per tick',
    );

    type Ingest = Awaited<ReturnType<typeof ingestPhase>>;
    const runs: Record<Mode, Ingest[]> = { plaintext: [], tls: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of ['plaintext', 'tls'] as const) runs[mode].push(await ingestPhase(h, mode, pki));
    }
    const mean = (mode: Mode, k: keyof Ingest) => avg(runs[mode].map((x) => x[k]));
    const row = (label: string, k: keyof Ingest, d: number) => [
      label,
      fixed(mean('plaintext', k), d),
      fixed(mean('tls', k), d),
      fixed(mean('tls', k) / mean('plaintext', k)),
    ];
    console.log(
      `\n## collector ingest (embedded store, ${STREAMS} streams through CollectorLink, ${IN_FLIGHT} reports in flight each, 8 instances per report; mean of ${ROUNDS} rounds)`,
    );
    console.log(
      table([
        ['', 'plaintext', 'TLS', 'TLS / plaintext'],
        row('instance samples/s stored', 'samplesPerSec', 0),
        row('collector CPU % of a core', 'cpuPercent', 0),
        row('collector CPU ms per sample', 'cpuMsPerSample', 3),
        row('load generator CPU % (this process)', 'generatorCpuPercent', 0),
      ]),
    );
  } finally {
    await h.close();
    fs.rmSync(pkiDir, { recursive: true, force: true });
  }
}

await main();
