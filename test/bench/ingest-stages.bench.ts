// Where one instance sample's collector CPU goes, stage by stage, in this process (run on demand:
// npm run bench -- ingest-stages). The same 8-instance report (the real Redis 7.0 INFO ALL
// capture) in report form 1 and form 2, through the collector's own code: the AgentMessage
// decode (and the form-2 column reader), the InfluxDB path (report → line protocol straight from
// the samples, report-lines.ts, beside the previous report → points → line protocol), the
// built-in alert rules (on the points they name, beside all the points), the embedded store's
// points, and the latest sample as the state store writes it (form 2: its bytes; form 1: JSON). The ingest benchmark
// measures the whole collector; this one says which stage to cut next. A second table gives the
// bytes each stage allocates per sample (V8's sampling heap profiler, counting objects already
// collected: what the young-generation GC has to go through), and the JS heap an instance's
// latest sample keeps (the state holds one per instance: 80,000 for the target fleet).
import {
  fleetService,
  encodeAgentMessage,
  decodeLazySamples,
  storedSampleBytes,
  REPORT_FORM_V1,
  REPORT_FORM_V2,
  type Report,
} from '../../proto/index.js';
import { reportPoints } from '../../collector/points.js';
import { encodeLines } from '../../collector/line-protocol.js';
import { reportLines } from '../../collector/report-lines.js';
import { Store } from '../../collector/store.js';
import { SqliteAlertingStore } from '../../collector/alerting/store.js';
import { AlertTable } from '../../collector/alerting/alerts.js';
import { Evaluator, builtinRules } from '../../collector/alerting/rules/index.js';
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { latestSample, type RedisSample } from '../../proto/index.js';
import { fixed, table } from './lib.js';
import { reportMessage, syntheticSamples, type ReportForm } from './ingest.js';

const PER_REPORT = 8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 400);

type Decoded = { report?: Report };
const deserialize = (fleetService() as unknown as { service: { Connect: { requestDeserialize(b: Buffer): unknown } } }).service.Connect
  .requestDeserialize;

/** What grpc.ts does with one message: proto-loader's decode, then form 2's samples (columns read, INFO map on demand) into `redis`. */
function decode(bytes: Buffer): Report {
  const r = (deserialize(bytes) as Decoded).report!;
  const v2 = r.redisV2;
  if (v2?.length) {
    r.redis = decodeLazySamples(Buffer.isBuffer(v2) ? v2 : Buffer.from(v2.buffer, v2.byteOffset, v2.byteLength)).samples;
    r.redisV2 = null;
  }
  return r;
}

function stages(form: ReportForm) {
  const samples = syntheticSamples(PER_REPORT);
  for (const s of samples) s.sampledAtMs = Date.now();
  const bytes = encodeAgentMessage(reportMessage({ seq: 1, timestampMs: Date.now(), redis: samples, proxies: [], events: [] }, form));
  const src = { hostId: 'bench-1', labels: { idc: 'idc1' } };
  const report = decode(bytes);
  const points = reportPoints(report, src);
  const store = Store.open(':memory:');
  const evaluator = new Evaluator(
    new AlertTable(new SqliteAlertingStore(store.db)),
    builtinRules({ enabled: true, disable: [], overrides: {} }),
  );
  return {
    bytes: bytes.length,
    points: points.length,
    lineBytes: encodeLines(points).lines.length,
    close: () => store.close(),
    // Each stage gets freshly decoded reports (a form-2 sample builds its INFO map once, on first read).
    fresh: () => decode(bytes),
    run: {
      'AgentMessage decode': () => decode(bytes),
      'report → line protocol (InfluxDB sink)': (r) => reportLines(r, src),
      '  previous: report → points → line protocol': (r) => encodeLines(reportPoints(r, src)),
      'alert rules on the points they name': (r) => evaluator.onPoints(reportPoints(r, src, [], { need: evaluator.need })),
      '  alert rules on every point': () => evaluator.onPoints(points),
      'report → points (embedded store)': (r) => reportPoints(r, src),
      'latest sample as stored (state store)': (r) => {
        for (const s of r.redis) if (!storedSampleBytes(s)) JSON.stringify(s);
      },
    } as Record<string, (r: Report) => unknown>,
  };
}

/** KB allocated per instance sample by `f` over `reports` (sampled every 512 bytes, collected objects included). */
async function allocatedKb(session: Session, f: (r: Report) => unknown, reports: Report[]): Promise<number> {
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (const r of reports) f(r);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  let bytes = 0;
  const walk = (n: { selfSize: number; children: (typeof n)[] }) => {
    bytes += n.selfSize;
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  return bytes / 1024 / reports.length / PER_REPORT;
}

/** JS heap (KB) each latest sample keeps, `keep(s)` of 8,000 form-2 samples of distinct instances. */
function keptKb(keep: (s: RedisSample) => RedisSample): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const samples = syntheticSamples(PER_REPORT);
  const kept = new Map<string, RedisSample>();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let h = 0; h < 1000; h++) {
    samples.forEach((s, i) => (s.address = `10.0.${h >> 8}.${h & 255}:${6379 + i}`));
    const r = decode(
      encodeAgentMessage(reportMessage({ seq: 1, timestampMs: Date.now(), redis: samples, proxies: [], events: [] }, REPORT_FORM_V2)),
    );
    for (const s of r.redis) kept.set(s.address, keep(s));
  }
  gc();
  return (process.memoryUsage().heapUsed - before) / 1024 / kept.size;
}

async function main() {
  console.log(
    `# ingest stages: ${PER_REPORT} instances per report, ${ROUNDS} rounds × ${ITERATIONS} reports per stage (forms interleaved), CPU time per instance sample, node ${process.version}, ${new Date().toISOString()}`,
  );
  const forms = [REPORT_FORM_V1, REPORT_FORM_V2] as const;
  const cases = forms.map((f) => stages(f));
  const names = Object.keys(cases[0]!.run);
  const us = cases.map(() => new Map<string, number[]>(names.map((n) => [n, []])));
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      for (let c = 0; c < cases.length; c++) {
        const f = cases[c]!.run[name]!;
        const reports = Array.from({ length: ITERATIONS }, cases[c]!.fresh);
        const t0 = process.cpuUsage();
        for (let i = 0; i < ITERATIONS; i++) f(reports[i]!);
        const t = process.cpuUsage(t0);
        // The first two rounds warm the JIT up.
        if (round >= 2) us[c]!.get(name)!.push((t.user + t.system) / ITERATIONS / PER_REPORT);
      }
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const rows: (string | number)[][] = [['stage', 'form 1 µs / sample', 'form 2 µs / sample']];
  const m = (name: string) => us.map((u) => median(u.get(name)!));
  for (const name of names) rows.push([name, ...m(name).map((v) => fixed(v, 1))]);
  // The InfluxDB sink's path per sample: decode, lines, rules, latest-sample JSON; now and before.
  const sum = (stages: string[]) =>
    [0, 1].map((i) =>
      fixed(
        stages.reduce((a, st) => a + m(st)[i]!, 0),
        1,
      ),
    );
  const json = 'latest sample as stored (state store)';
  rows.push([
    'InfluxDB path, sum',
    ...sum(['AgentMessage decode', 'report → line protocol (InfluxDB sink)', 'alert rules on the points they name', json]),
  ]);
  rows.push([
    '  previous InfluxDB path, sum',
    ...sum(['AgentMessage decode', '  previous: report → points → line protocol', '  alert rules on every point', json]),
  ]);
  console.log(table(rows));
  console.log(
    `report bytes: form 1 ${cases[0]!.bytes}, form 2 ${cases[1]!.bytes}; points per report ${cases[0]!.points}; line protocol ${cases[0]!.lineBytes} bytes per report`,
  );

  const session = new Session();
  session.connect();
  const alloc: (string | number)[][] = [['stage', 'form 1 KB allocated / sample', 'form 2 KB allocated / sample']];
  for (const name of names) {
    const kb: string[] = [];
    for (const c of cases) kb.push(fixed(await allocatedKb(session, c.run[name]!, Array.from({ length: 100 }, c.fresh)), 1));
    alloc.push([name, ...kb]);
  }
  session.disconnect();
  console.log(table(alloc));
  // What the state keeps per instance: the sample read whole (columns and INFO map), and as its latest.
  const whole = keptKb((s) => {
    void s.info;
    return s;
  });
  const latest = keptKb((s) => latestSample(s));
  console.log(
    `JS heap kept per instance's latest form-2 sample: ${fixed(latest, 2)} KB (the sample read whole, columns and INFO map: ${fixed(whole, 2)} KB)`,
  );
  for (const c of cases) c.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
