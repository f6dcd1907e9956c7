// Collector ingest per report form (run on demand: npm run bench -- ingest).
// The same collector, the same synthetic agents (real protocol, the real INFO ALL capture, 8
// instances per report), one configuration after the other in this run: report form 1
// (INFO as map<string, Value>) vs form 2 (proto/form2.ts), into the embedded store and into a real
// InfluxDB 1.6 with and without gzip'd writes. The figure that matters is the collector's own CPU
// per instance sample (InfluxDB shares the machine's cores, so it also bounds samples/s).
import { harness, type Harness } from '../harness/index.js';
import { cpuMs, fixed, mb, table } from './lib.js';
import { collectorIngest, type ReportForm } from './ingest.js';

const SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 15);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 50);
const PER_REPORT = 8;

interface Case {
  sink: 'embedded' | 'influx' | 'influx, no gzip';
  form: ReportForm;
}

async function run(h: Harness, c: Case) {
  const influx = c.sink === 'embedded' ? undefined : await h.influx();
  const config = influx
    ? { influx: { url: influx.url, database: 'bench', batchSize: 5000, flushInterval: '200ms', gzip: c.sink === 'influx' } }
    : {};
  const engine0 = influx ? cpuMs(influx.pid) : 0;
  const r = await collectorIngest(h, config, PER_REPORT, STREAMS, SECONDS, c.form);
  const engineMs = influx ? cpuMs(influx.pid) - engine0 : 0;
  await influx?.stop();
  return { ...r, engineMsPer1000: influx ? (engineMs / (r.reports * PER_REPORT)) * 1000 : undefined };
}

async function main() {
  const h = await harness();
  try {
    console.log(
      `# ingest benchmark: ${STREAMS} concurrent agent streams, ${PER_REPORT} instances per report, ${SECONDS} s per case, node ${process.version}, ${new Date().toISOString()}`,
    );
    const rows: (string | number)[][] = [
      [
        'sink',
        'form',
        'instance samples/s',
        'collector CPU ms / 1000 samples',
        'samples/s per collector core',
        'collector CPU %',
        'InfluxDB CPU ms / 1000 samples',
        'VmHWM',
        'points written',
        'body MB → sent MB',
      ],
    ];
    const cases: Case[] = [
      { sink: 'embedded', form: 1 },
      { sink: 'embedded', form: 2 },
      { sink: 'influx', form: 1 },
      { sink: 'influx', form: 2 },
      { sink: 'influx, no gzip', form: 2 },
    ];
    for (const c of cases) {
      const r = await run(h, c);
      rows.push([
        c.sink,
        c.form,
        fixed(r.samplesPerSec, 0),
        fixed(r.cpuMsPer1000, 0),
        fixed(r.samplesPerCoreSec, 0),
        fixed(r.cpuPercent, 0),
        r.engineMsPer1000 === undefined ? '' : fixed(r.engineMsPer1000, 0),
        mb(r.rss),
        r.sink.written ?? '',
        r.sink.bodyBytes ? `${fixed(r.sink.bodyBytes / 1e6, 0)} → ${fixed((r.sink.sentBytes ?? 0) / 1e6, 0)}` : '',
      ]);
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
