// VictoriaMetrics vs InfluxDB as the collector's metrics engine (run on demand: npm run bench -- vm).
// The same collector, the same synthetic agents (real protocol, real INFO captures), one after the
// other in this run: instance samples/s stored, the collector's CPU per sample, and the engine's
// own CPU — into InfluxDB 1.6 (`influx:`) and into VictoriaMetrics (`influx.flavor: victoriametrics`).
import { harness } from '../harness/index.js';
import { cpuMs, mb, fixed, table } from './lib.js';
import { collectorIngest } from './ingest.js';

const SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 15);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 50);
const PER_REPORT = 8;

async function main() {
  const h = await harness();
  try {
    console.log(
      `# vm benchmark: ${STREAMS} concurrent agent streams, ${PER_REPORT} instances per report, ${SECONDS} s per engine, node ${process.version}, ${new Date().toISOString()}`,
    );
    const rows: (string | number)[][] = [
      [
        'engine',
        'instance samples/s',
        'collector CPU %',
        'collector CPU ms / 1000 samples',
        'engine CPU ms / 1000 samples',
        'collector VmHWM',
        'points written',
        'dropped',
      ],
    ];
    for (const engine of ['influxdb', 'victoriametrics'] as const) {
      const server = engine === 'influxdb' ? await h.influx() : await h.victoria();
      const engineCpu0 = cpuMs(server.pid);
      const r = await collectorIngest(
        h,
        { influx: { url: server.url, flavor: engine, database: 'bench', batchSize: 5000, flushInterval: '200ms' } },
        PER_REPORT,
        STREAMS,
        SECONDS,
      );
      const engineCpu = cpuMs(server.pid) - engineCpu0;
      const samples = r.reports * PER_REPORT;
      rows.push([
        engine,
        fixed(r.samplesPerSec, 0),
        fixed(r.cpuPercent, 0),
        fixed((r.cpuMs / samples) * 1000, 1),
        fixed((engineCpu / samples) * 1000, 1),
        mb(r.rss),
        r.sink.written ?? '',
        (r.sink.droppedNoRoom ?? 0) + (r.sink.droppedRejected ?? 0),
      ]);
      await server.stop();
    }
    console.log(table(rows));
    console.log("(both engines and the collector share this machine's cores; each instance sample is ~8–40 points)");
  } finally {
    await h.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
