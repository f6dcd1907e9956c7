// Synthetic agent streams for the collector ingest benchmarks (foundation, acks): real
// protocol over gRPC, a fixture INFO per instance, a window of reports in flight.
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { waitFor, type CollectorProcess, type Harness } from '../harness/index.js';
import { cpuMs, memory } from './lib.js';
import { parseInfo } from '../../agent/index.js';
import {
  REPORT_FORM_V1,
  REPORT_FORM_V2,
  SCHEMA_FINGERPRINT,
  encodeAgentMessage,
  fleetService,
  encodeRedisSamples,
  type Report,
  type RedisSample,
} from '../../proto/index.js';
import { fixturePath } from '../fixtures.js';

export function syntheticSamples(n: number): RedisSample[] {
  const fixtures = fixturePath('redis');
  const master = parseInfo(fs.readFileSync(path.join(fixtures, 'info-all-master-7.0.15.txt'), 'utf8'));
  const out: RedisSample[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      address: `10.0.0.1:${6379 + i}`,
      cluster: 'c1',
      group: `g${i}`,
      up: true,
      error: '',
      sampledAtMs: 0,
      role: master.role,
      info: master.info,
      replicas: master.replicas,
      keyspace: master.keyspace,
      commandstats: master.commandstats,
      latencystats: master.latencystats,
      errorstats: master.errorstats,
      maxmemory: 4 * 2 ** 30,
      maxclients: 10000,
      rates: {
        valid: true,
        opsPerSec: 1000,
        netInputBytesPerSec: 1e5,
        netOutputBytesPerSec: 2e5,
        keyspaceHitRatio: 0.9,
        evictedKeysPerSec: 0,
        expiredKeysPerSec: 1,
        rejectedConnectionsPerSec: 0,
      },
      headroom: { usedBytes: 5e6, limitBytes: 4 * 2 ** 30, limitSource: 'maxmemory', usedRatio: 0.001 },
      unavailable: [],
      slowlog: [],
    });
  }
  return out;
}

export type ReportForm = typeof REPORT_FORM_V1 | typeof REPORT_FORM_V2;

/** The AgentMessage of `report` in report form 1 (Redis samples with INFO maps) or 2 (proto/form2.ts). */
export function reportMessage(report: Report, form: ReportForm): { report: Report } {
  return { report: form === REPORT_FORM_V2 ? { ...report, redis: [], redisV2: encodeRedisSamples(report.redis) } : report };
}

/**
 * One synthetic agent: hello, then reports as fast as acks come back (`window` in flight, default 4).
 * `form` 2 offers report form 2 in hello and uses it when the Welcome accepts it (as the agent does).
 * Messages are encoded like the agent does (encodeAgentMessage), so the driver stays cheap.
 */
export function reporter(
  address: string,
  token: string,
  hostId: string,
  samples: RedisSample[],
  until: number,
  t0: number,
  window = 4,
  form: ReportForm = REPORT_FORM_V1,
  /** Each report's send → ack milliseconds are pushed here. */
  latencies?: number[],
): Promise<number> {
  const sentAt: number[] = [];
  const { client, call } = agentStream(address, token);
  let seq = 0;
  let acked = 0;
  let ts = t0;
  let sendForm: ReportForm = REPORT_FORM_V1;
  const send = () => {
    seq++;
    ts += 1000; // one "interval" per report: distinct timestamps, so nothing is overwritten
    for (const s of samples) s.sampledAtMs = ts;
    const report: Report = { seq, timestampMs: ts, redis: samples, proxies: [], events: [] };
    if (latencies) sentAt[seq] = performance.now();
    call.write(encodeAgentMessage(reportMessage(report, sendForm)));
  };
  return new Promise((resolve, reject) => {
    call.on('data', (m) => {
      if (m.welcome) {
        if ((m.welcome as { reportForm?: number }).reportForm === REPORT_FORM_V2) sendForm = REPORT_FORM_V2;
        else if (form === REPORT_FORM_V2) return reject(new Error(`collector did not accept report form 2: ${JSON.stringify(m.welcome)}`));
        for (let i = 0; i < window; i++) send();
        return;
      }
      if (m.ack) {
        const a = (m.ack as { seq: number }).seq;
        const newly = a - acked;
        if (latencies) {
          const now = performance.now();
          for (let s = acked + 1; s <= a; s++) latencies.push(now - sentAt[s]!);
        }
        acked = a;
        if (Date.now() < until) for (let i = 0; i < newly; i++) send();
        else if (acked === seq) {
          call.end();
          client.close();
          resolve(acked);
        }
      }
    });
    call.on('error', (e) => {
      client.close();
      if ((e as grpc.ServiceError).code === grpc.status.CANCELLED) resolve(acked);
      else reject(e);
    });
    call.write(helloMessage(hostId, `idc${hostId.length % 3}`, 10_000, form));
  });
}

/** A synthetic agent's gRPC client and Connect stream to `address` (messages written as encoded bytes, answers decoded). */
export function agentStream(address: string, token: string) {
  const Fleet = fleetService();
  const client = new Fleet(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 8 << 20 });
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  const codec = (Fleet as unknown as { service: { Connect: { path: string; responseDeserialize(b: Buffer): unknown } } }).service.Connect;
  const call = client.makeBidiStreamRequest(
    codec.path,
    (b: Buffer) => b,
    (b: Buffer) => codec.responseDeserialize(b) as Record<string, unknown>,
    md,
  );
  return { client, call };
}

/** A synthetic agent's hello: report form 2 offered with our schema when `form` is 2. */
export function helloMessage(hostId: string, idc: string, intervalMs: number, form: ReportForm): Buffer {
  return encodeAgentMessage({
    hello: {
      hostId,
      labels: { idc },
      roles: ['redis'],
      agentVersion: 'bench',
      intervalMs,
      sessionId: `${hostId}-${Date.now()}`,
      protocolVersion: 1,
      ...(form === REPORT_FORM_V2 ? { reportForms: [REPORT_FORM_V2], schema: SCHEMA_FINGERPRINT } : {}),
    },
  });
}

export interface IngestRun {
  instancesPerReport: number;
  streams: number;
  seconds: number;
  /** Reports in flight per stream. */
  window?: number;
  /** Wait for the sink to drain, so the figure is what was stored, not only queued. */
  drain: boolean;
  /** The report form the synthetic agents send (default 1). */
  form?: ReportForm;
  /** Send → ack milliseconds of every report, when given. */
  latencies?: number[];
  /** With several collectors: which one stream `hostId` reports to (default: round robin). */
  route?: (hostId: string, stream: number) => number;
}

/** `streams` synthetic agents report to running collectors for `seconds`: reports acked, wall time, the collectors' CPU (summed), memory (highest) and sink stats (of the first), and each collector's own. */
export async function driveIngest(collector: CollectorProcess | CollectorProcess[], run: IngestRun) {
  const collectors = Array.isArray(collector) ? collector : [collector];
  const samples = syntheticSamples(run.instancesPerReport);
  const t0 = Date.now() - 365 * 86_400_000; // a past year, one second apart per report
  const cpu0 = collectors.map((c) => cpuMs(c.pid));
  const start = Date.now();
  const until = start + run.seconds * 1000;
  const route = run.route ?? ((_: string, i: number) => i % collectors.length);
  const acked = await Promise.all(
    Array.from({ length: run.streams }, (_, i) => {
      const c = collectors[route(`bench-${i}`, i)]!;
      return reporter(
        c.grpcAddress,
        c.tokens[0]!,
        `bench-${i}`,
        samples.map((s) => ({ ...s })),
        until,
        t0,
        run.window,
        run.form,
        run.latencies,
      );
    }),
  );
  if (run.drain) {
    for (const c of collectors)
      await waitFor(async () => (await c.api<{ sinkQueue: number }>('/healthz')).sinkQueue === 0, {
        timeoutMs: 180_000,
        intervalMs: 100,
        what: 'sink drained',
      });
  }
  const wall = (Date.now() - start) / 1000;
  const each = collectors.map((c, i) => ({ cpuMs: cpuMs(c.pid) - cpu0[i]!, hwm: memory(c.pid).hwm, rss: memory(c.pid).rss }));
  const health = await collectors[0]!.api<{ sinkStats: Record<string, number> }>('/healthz');
  return {
    reports: acked.reduce((a, b) => a + b, 0),
    wall,
    cpuMs: each.reduce((a, b) => a + b.cpuMs, 0),
    sink: health.sinkStats,
    hwm: Math.max(...each.map((e) => e.hwm)),
    collectors: each,
  };
}

/** A collector with `config` taking `streams` synthetic agents' reports (`instancesPerReport` each) for `seconds`: instance samples/s stored, its CPU and memory. */
export async function collectorIngest(
  h: Harness,
  config: Record<string, unknown>,
  instancesPerReport: number,
  streams: number,
  seconds: number,
  form: ReportForm = REPORT_FORM_V1,
) {
  const collector = await h.collector(config);
  const r = await driveIngest(collector, { instancesPerReport, streams, seconds, drain: true, form });
  await collector.stop();
  return {
    reports: r.reports,
    cpuMs: r.cpuMs,
    samplesPerSec: (r.reports * instancesPerReport) / r.wall,
    cpuPercent: (r.cpuMs / (r.wall * 1000)) * 100,
    /** Collector CPU ms per 1,000 instance samples, and instance samples per collector CPU second. */
    cpuMsPer1000: (r.cpuMs / (r.reports * instancesPerReport)) * 1000,
    samplesPerCoreSec: (r.reports * instancesPerReport) / (r.cpuMs / 1000),
    rss: r.hwm,
    sink: r.sink,
  };
}
