// The collector's CPU per instance sample, thread by thread (run on demand: npm run bench --
// ingest-threads). The harness collector with a real InfluxDB 1.6 (gzip'd writes, batch 5,000,
// flush 200 ms) takes 50 synthetic form-2 agents × 8 instances (test/bench/ingest.ts): 4 s of
// warm-up, then BENCH_INGEST_SECONDS measured. Per thread from /proc/<pid>/task/*/schedstat: the
// main thread (JavaScript, the main-thread part of GC) and the others (V8's workers: parallel
// scavenges, concurrent marking; libuv's pool: gzip). The peer, in the same run and alternated:
// the same collector without the node flags of its shebang (collector/main.ts says why they are
// there), so a flag that stops paying shows here.
import fs from 'node:fs';
import { harness, programNodeFlags, PROGRAMS, type Harness } from '../harness/index.js';
import { fixed, memory, table, threadCpuMs } from './lib.js';
import { driveIngest } from './ingest.js';
import { REPORT_FORM_V2 } from '../../proto/index.js';

const SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 15);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PER_REPORT = 8;

async function run(h: Harness, nodeFlags: string[]) {
  const influx = await h.influx();
  const collector = await h.collector(
    { influx: { url: influx.url, database: 'bench', batchSize: 5000, flushInterval: '200ms', gzip: true } },
    { nodeFlags },
  );
  const ingest = (seconds: number) =>
    driveIngest(collector, { instancesPerReport: PER_REPORT, streams: STREAMS, seconds, drain: true, form: REPORT_FORM_V2 });
  await ingest(4);
  const before = threadCpuMs(collector.pid);
  const r = await ingest(SECONDS);
  const after = threadCpuMs(collector.pid);
  const hwm = memory(collector.pid).hwm;
  await collector.stop();
  await influx.stop();
  const samples = r.reports * PER_REPORT;
  const us = (ms: number) => (ms * 1000) / samples;
  return {
    perSec: samples / r.wall,
    total: us(r.cpuMs),
    main: us(after.main - before.main),
    others: us(after.others - before.others),
    hwm,
  };
}

async function main() {
  const shipped = programNodeFlags(PROGRAMS.collector);
  const cases = [
    { name: `as shipped (${shipped.join(' ') || 'no flags'})`, flags: shipped },
    { name: 'without node flags', flags: [] },
  ];
  const h = await harness();
  try {
    console.log(
      `# collector CPU per sample by thread: ${STREAMS} form-2 agent streams × ${PER_REPORT} instances into InfluxDB (gzip), ${SECONDS} s per run, ${ROUNDS} rounds alternated, node ${process.version}, ${new Date().toISOString()}, load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
    );
    const rows: (string | number)[][] = [
      ['collector', 'round', 'instance samples/s', 'µs / sample', 'main thread', 'other threads', 'VmHWM MB'],
    ];
    const totals = cases.map(() => 0);
    for (let round = 1; round <= ROUNDS; round++)
      for (const [i, c] of cases.entries()) {
        const r = await run(h, c.flags);
        totals[i]! += r.total;
        rows.push([c.name, round, fixed(r.perSec, 0), fixed(r.total, 0), fixed(r.main, 0), fixed(r.others, 0), fixed(r.hwm / 2 ** 20, 0)]);
      }
    console.log(table(rows));
    console.log(
      `mean µs per sample: ${cases.map((c, i) => `${c.name} ${fixed(totals[i]! / ROUNDS, 0)}`).join(', ')}; ratio ${fixed(totals[0]! / totals[1]!, 2)}; target ≤ 100 (issue 17)`,
    );
  } finally {
    await h.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
