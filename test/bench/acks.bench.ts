// Durable acks benchmark (npm run bench -- acks): collector ingest with acks that mean
// stored (InfluxDB 2xx / SQLite commit with synchronous=FULL / fsync'd spool) next to the
// old behaviour (ack once queued in memory) in the same run, same synthetic agent streams.
// Rows: embedded store, InfluxDB up, InfluxDB stopped (durable: spooled to disk; old: the
// memory queue, which drops the oldest once full). Each pair runs ROUNDS times, alternating,
// and the best round of each counts (the machine is shared).
import { harness, type Harness } from '../harness/index.js';
import { mb, fixed, table } from './lib.js';
import { driveIngest } from './ingest.js';

const INGEST_SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 15);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const INSTANCES = 8;
// Reports in flight per stream: enough that the ack latency (a flush interval, a commit) does
// not bound a stream; a real agent sends one report per interval.
const WINDOW = Number(process.env.BENCH_WINDOW ?? 16);

type Mode = 'embedded' | 'influx' | 'influx stopped';
type Acks = 'durable' | 'on-queue';

interface Result {
  samplesPerSec: number;
  cpuPercent: number;
  cpuMsPer1kSamples: number;
  hwm: number;
  spooled: number;
  dropped: number;
}

async function ingest(h: Harness, mode: Mode, acks: Acks): Promise<Result> {
  const influx = mode === 'embedded' ? undefined : await h.influx();
  const collector = await h.collector(
    // The spool bound is far above what one run writes: this measures cost, not the bound.
    influx ? { influx: { url: influx.url, database: 'bench', batchSize: 5000 }, spool: { maxBytes: '8gb' } } : {},
    acks === 'on-queue' ? { env: { REDIS_FLEET_INTERNAL_ACK_ON_QUEUE: '1' } } : {},
  );
  if (influx && mode === 'influx stopped') await influx.stop();
  const r = await driveIngest(collector, {
    instancesPerReport: INSTANCES,
    streams: STREAMS,
    seconds: INGEST_SECONDS,
    window: WINDOW,
    // With InfluxDB up, the figure is what was stored, not only queued.
    drain: mode !== 'influx stopped',
  });
  await collector.kill();
  if (influx?.running) await influx.stop();
  const samplesTotal = r.reports * INSTANCES;
  return {
    samplesPerSec: samplesTotal / r.wall,
    cpuPercent: (r.cpuMs / (r.wall * 1000)) * 100,
    cpuMsPer1kSamples: (r.cpuMs / samplesTotal) * 1000,
    hwm: r.hwm,
    spooled: r.sink.spooled ?? 0,
    dropped: (r.sink.droppedNoRoom ?? 0) + (r.sink.droppedRejected ?? 0),
  };
}

const best = (rs: Result[]): Result => rs.reduce((a, b) => (b.samplesPerSec > a.samplesPerSec ? b : a));

async function main() {
  const h = await harness();
  try {
    console.log(
      `# acks benchmark: ${STREAMS} agent streams, ${INSTANCES} instances per report, ${WINDOW} reports in flight per stream, ${INGEST_SECONDS} s per run, best of ${ROUNDS}, node ${process.version}, ${new Date().toISOString()}`,
    );
    const rows: (string | number)[][] = [
      [
        'sink',
        'acks',
        'instance samples/s',
        'collector CPU %',
        'CPU ms / 1k samples',
        'VmHWM',
        'spooled points',
        'dropped points',
        'durable/old samples/s',
      ],
    ];
    for (const mode of ['embedded', 'influx', 'influx stopped'] as Mode[]) {
      const runs: Record<Acks, Result[]> = { durable: [], 'on-queue': [] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const acks of (r % 2 ? ['durable', 'on-queue'] : ['on-queue', 'durable']) as Acks[])
          runs[acks].push(await ingest(h, mode, acks));
      }
      const old = best(runs['on-queue']);
      const durable = best(runs.durable);
      for (const [acks, x] of [
        ['on-queue (old)', old],
        ['durable', durable],
      ] as const) {
        rows.push([
          mode,
          acks,
          fixed(x.samplesPerSec, 0),
          fixed(x.cpuPercent, 0),
          fixed(x.cpuMsPer1kSamples, 1),
          mb(x.hwm),
          x.spooled,
          x.dropped,
          acks === 'durable' ? `${fixed(durable.samplesPerSec / old.samplesPerSec)}×` : '',
        ]);
      }
    }
    console.log(table(rows));
  } finally {
    await h.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
