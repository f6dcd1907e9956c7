// VictoriaMetrics vs InfluxDB as the collector's metrics engine (run on demand: npm run bench -- vm).
// The same collector, the same synthetic agents (real protocol, real INFO captures), one after the
// other in this run: instance samples/s stored, the collector's CPU per sample, and the engine's
// own CPU — into InfluxDB 1.6 (`influx:`) and into VictoriaMetrics (`influx.flavor: victoriametrics`).
import { harness, waitFor, type Harness } from '../harness/index.js';
import { cpuMs, memory, mb, fixed, table } from './lib.js';
import { reporter, syntheticSamples } from './ingest.js';

const SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 15);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 50);
const PER_REPORT = 8;

/** A collector with `config` taking `streams` synthetic agents' reports for `seconds`: samples/s stored, its CPU and memory. */
async function ingestPhase(h: Harness, config: Record<string, unknown>, instancesPerReport: number, streams: number, seconds: number) {
  const collector = await h.collector(config);
  const samples = syntheticSamples(instancesPerReport);
  const t0 = Date.now() - 365 * 86_400_000; // a past year, one second apart per report
  const cpu0 = cpuMs(collector.pid);
  const start = Date.now();
  const until = start + seconds * 1000;
  const acked = await Promise.all(Array.from({ length: streams }, (_, i) => reporter(collector.grpcAddress, collector.tokens[0]!, `bench-${i}`, samples.map((s) => ({ ...s })), until, t0)));
  // Wait for the sink to drain so the figure is what was stored, not only queued.
  await waitFor(async () => (await collector.api<{ sinkQueue: number }>('/healthz')).sinkQueue === 0, { timeoutMs: 120_000, intervalMs: 100, what: 'sink drained' });
  const wall = (Date.now() - start) / 1000;
  const cpu = cpuMs(collector.pid) - cpu0;
  const health = await collector.api<{ sinkStats: Record<string, number> }>('/healthz');
  const mem = memory(collector.pid);
  const reports = acked.reduce((a, b) => a + b, 0);
  await collector.stop();
  return { reports, cpuMs: cpu, samplesPerSec: (reports * instancesPerReport) / wall, cpuPercent: (cpu / (wall * 1000)) * 100, rss: mem.hwm, sink: health.sinkStats };
}

async function main() {
  const h = await harness();
  try {
    console.log(`# vm benchmark: ${STREAMS} concurrent agent streams, ${PER_REPORT} instances per report, ${SECONDS} s per engine, node ${process.version}, ${new Date().toISOString()}`);
    const rows: (string | number)[][] = [['engine', 'instance samples/s', 'collector CPU %', 'collector CPU ms / 1000 samples', 'engine CPU ms / 1000 samples', 'collector VmHWM', 'points written', 'dropped']];
    for (const engine of ['influxdb', 'victoriametrics'] as const) {
      const server = engine === 'influxdb' ? await h.influx() : await h.victoria();
      const engineCpu0 = cpuMs(server.pid);
      const r = await ingestPhase(h, { influx: { url: server.url, flavor: engine, database: 'bench', batchSize: 5000, flushInterval: '200ms' } }, PER_REPORT, STREAMS, SECONDS);
      const engineCpu = cpuMs(server.pid) - engineCpu0;
      const samples = r.reports * PER_REPORT;
      rows.push([engine, fixed(r.samplesPerSec, 0), fixed(r.cpuPercent, 0), fixed((r.cpuMs / samples) * 1000, 1), fixed((engineCpu / samples) * 1000, 1), mb(r.rss),
        r.sink.written ?? '', (r.sink.droppedQueueFull ?? 0) + (r.sink.droppedRejected ?? 0)]);
      await server.stop();
    }
    console.log(table(rows));
    console.log('(both engines and the collector share this machine\'s cores; each instance sample is ~8–40 points)');
  } finally {
    await h.close();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
