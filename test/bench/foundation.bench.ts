// Foundation benchmark (run on demand: npm run bench -- foundation).
//  1. Agent cost per instance-sample vs Debian's prometheus-redis-exporter per target-scrape, on the
//     same 8 real Redis instances, in this run: process CPU, RSS, and Redis-side time (commandstats).
//  2. Agent RSS with 32 instances.
//  3. Collector sustained ingest (instance samples/s) from many concurrent agent streams speaking the
//     real protocol, into InfluxDB and into the embedded store, with the collector's CPU; next to
//     the ceiling of writing the same points straight to InfluxDB.
import { spawn } from 'node:child_process';
import { harness, waitFor, freePort, PROGRAMS, programNodeFlags, type Harness, type RedisServer } from '../harness/index.js';
import { cpuMs, memory, mb, fixed, table } from './lib.js';
import { collectorIngest, syntheticSamples } from './ingest.js';

// Two windows of the same agent run, each against the exporter measured in this run: the first
// minute (ticks WARM_TICKS.. + TICKS: V8 still compiles the tick) and the steady state the targets
// are about (a daemon runs for months): STEADY_TICKS ticks from tick STEADY_WARM_TICKS (0: not measured).
const TICKS = Number(process.env.BENCH_TICKS ?? 30);
const WARM_TICKS = Number(process.env.BENCH_WARM_TICKS ?? 10);
const STEADY_TICKS = Number(process.env.BENCH_STEADY_TICKS ?? 60);
const STEADY_WARM_TICKS = Math.max(Number(process.env.BENCH_STEADY_WARM_TICKS ?? 240), WARM_TICKS + TICKS);
const INGEST_SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 15);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 50);
// BENCH_AGENT_ONLY=1: stop after the agent vs exporter comparison (skips 32 instances and collector ingest).

async function populate(rs: RedisServer[]): Promise<void> {
  // Some keys and a mix of commands so INFO carries commandstats/latencystats like a real instance.
  await Promise.all(
    rs.map(async (r) => {
      const c = r.client();
      // 20,000 keys (DEBUG POPULATE is refused by Redis 7's default enable-debug-command no).
      for (let b = 0; b < 20; b++) {
        const fill = c.pipeline();
        for (let i = 0; i < 1000; i++) fill.set(`key:${b * 1000 + i}`, 'value');
        await fill.exec();
      }
      const p = c.pipeline();
      for (let i = 0; i < 200; i++)
        p.set(`k${i}`, 'v').get(`k${i}`).incr('n').lpush('l', i).hset('h', `f${i}`, i).sadd('s', i).zadd('z', i, `m${i}`);
      await p.exec();
    }),
  );
}

/** Sum of usec over every command in commandstats, minus the INFO that reads it. */
async function redisUsec(r: RedisServer): Promise<number> {
  const text = (await r.call('INFO', 'commandstats')) as string;
  let sum = 0;
  for (const m of text.matchAll(/usec=(\d+),/g)) sum += Number(m[1]);
  return sum;
}

async function agentPhase(h: Harness, rs: RedisServer[], nodeFlags?: string[], withSteady = true) {
  const collector = await h.collector();
  for (const r of rs) await r.call('CONFIG', 'RESETSTAT');
  const usec0 = await Promise.all(rs.map(redisUsec));
  const agent = await h.agent(
    {
      hostId: 'bench',
      interval: '1s',
      redis: rs.map((r) => ({ address: r.address })),
    },
    { collector, nodeFlags },
  );
  // Start-up is skipped: V8 is still compiling the tick's hot code for the first reports (a Go
  // exporter is warm after a scrape). Then the first-minute window, then the steady one.
  const seqOf = async () => (await collector.api<{ lastSeq: number }>('/api/v1/hosts/bench')).lastSeq ?? 0;
  const measure = async (from: number, ticks: number): Promise<AgentWindow> => {
    await waitFor(async () => (await seqOf()) >= from, { timeoutMs: from * 1000 + 30_000, intervalMs: 250, what: `agent at tick ${from}` });
    const seq0 = await seqOf();
    const cpu0 = cpuMs(agent.pid);
    await waitFor(async () => (await seqOf()) >= seq0 + ticks, {
      timeoutMs: ticks * 1000 + 30_000,
      intervalMs: 250,
      what: `${ticks} ticks`,
    });
    const cpu1 = cpuMs(agent.pid);
    const n = (await seqOf()) - seq0;
    return { from: seq0, ticks: n, cpuPerSample: (cpu1 - cpu0) / (n * rs.length), cpuPerTick: (cpu1 - cpu0) / n };
  };
  const first = await measure(WARM_TICKS, TICKS);
  const steady = withSteady && STEADY_TICKS > 0 ? await measure(STEADY_WARM_TICKS, STEADY_TICKS) : undefined;
  const seq1 = await seqOf();
  const mem = memory(agent.pid);
  await agent.stop();
  const usec1 = await Promise.all(rs.map(redisUsec));
  await collector.stop();
  const samples = (seq1 + 2) * rs.length; // every tick since start sampled every instance (Redis side counts all of them)
  const redisUsecTotal = usec1.reduce((a, b, i) => a + b - usec0[i]!, 0);
  return {
    first,
    steady,
    /** The window the targets are read in: the steady state when measured. */
    target: steady ?? first,
    rss: mem.rss,
    hwm: mem.hwm,
    anon: mem.anon,
    redisUsecPerSample: redisUsecTotal / samples,
  };
}

interface AgentWindow {
  /** The tick (report seq) the window starts at, and how many it spans. */
  from: number;
  ticks: number;
  cpuPerSample: number;
  cpuPerTick: number;
}

/**
 * `paceMs`: start a scrape of all 8 every this many ms, as the agent ticks (0: back to back, the
 * figure the targets were set against). A process woken once a second pays cold caches and
 * wake-ups on every round that a back-to-back loop does not.
 */
async function exporterPhase(h: Harness, rs: RedisServer[], paceMs = 0) {
  const port = await freePort();
  for (const r of rs) await r.call('CONFIG', 'RESETSTAT');
  const usec0 = await Promise.all(rs.map(redisUsec));
  const exp = spawn('prometheus-redis-exporter', ['-web.listen-address', `127.0.0.1:${port}`, '-redis.addr', ''], { stdio: 'ignore' });
  h.onClose(async () => {
    exp.kill('SIGKILL');
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/`).catch(() => null))?.ok, { what: 'exporter up' });
  const scrapeAll = () =>
    Promise.all(
      rs.map(async (r) => {
        const res = await fetch(`http://127.0.0.1:${port}/scrape?target=redis://${r.address}`);
        const body = await res.text();
        if (!body.includes('redis_up 1')) throw new Error(`exporter scrape of ${r.address} failed`);
      }),
    );
  for (let i = 0; i < 3; i++) await scrapeAll();
  const cpu0 = cpuMs(exp.pid!);
  for (let i = 0; i < TICKS; i++) {
    const next = Date.now() + paceMs;
    await scrapeAll();
    if (paceMs) await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  const cpu1 = cpuMs(exp.pid!);
  const mem = memory(exp.pid!);
  exp.kill('SIGTERM');
  const usec1 = await Promise.all(rs.map(redisUsec));
  const samples = (TICKS + 3) * rs.length;
  const redisUsecTotal = usec1.reduce((a, b, i) => a + b - usec0[i]!, 0);
  return {
    cpuPerSample: (cpu1 - cpu0) / (TICKS * rs.length),
    rss: mem.rss,
    hwm: mem.hwm,
    anon: mem.anon,
    redisUsecPerSample: redisUsecTotal / samples,
  };
}

// ---- collector ingest ----------------------------------------------------------------------

async function ingestPhase(h: Harness, mode: 'influx' | 'embedded', instancesPerReport: number) {
  const influx = mode === 'influx' ? await h.influx() : undefined;
  const config = influx ? { influx: { url: influx.url, database: 'bench', batchSize: 5000, flushInterval: '200ms' } } : {};
  return { mode, ...(await collectorIngest(h, config, instancesPerReport, STREAMS, INGEST_SECONDS)), influx };
}

/** The ceiling: the same number of points per second written straight to InfluxDB over HTTP. */
async function rawInfluxCeiling(h: Harness) {
  const influx = await h.influx();
  await influx.createDatabase('raw');
  const fieldsPerPoint = Object.keys(syntheticSamples(1)[0]!.info).length;
  const fields = Array.from({ length: fieldsPerPoint }, (_, i) => `f${i}=${i}i`).join(',');
  const start = Date.now();
  let points = 0;
  while (Date.now() - start < 5000) {
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++, points++)
      lines.push(`redis,host=h${points % 50},instance=i${points % 400} ${fields} ${1_600_000_000_000 + points}`);
    await influx.write(lines.join('\n'), 'raw');
  }
  return { pointsPerSec: points / ((Date.now() - start) / 1000), fieldsPerPoint };
}

async function main() {
  const h = await harness();
  try {
    const rs = await Promise.all(Array.from({ length: 8 }, () => h.redis()));
    await populate(rs);
    console.log(
      `# foundation benchmark: agent windows ticks ${WARM_TICKS}+${TICKS} and ${STEADY_TICKS ? `${STEADY_WARM_TICKS}+${STEADY_TICKS}` : '(no steady window)'}, exporter ${TICKS} rounds, 8 real Redis 7.0 instances, node ${process.version}, ${new Date().toISOString()}`,
    );
    const flags = programNodeFlags(PROGRAMS.agent);
    const agent = await agentPhase(h, rs);
    // The same agent without its shebang's V8 flags, in this run: what the flags pay.
    const bare = flags.length ? await agentPhase(h, rs, []) : agent;
    const exporter = await exporterPhase(h, rs);
    const paced = await exporterPhase(h, rs, 1000);
    console.log('\n## agent vs prometheus-redis-exporter 1.45 (same 8 instances, same run)');
    console.log(`agent node flags (its shebang, as installed): ${flags.join(' ') || '(none)'}`);
    const row = (what: string, a: number, b: number, e: number, f: (n: number) => string) => [
      what,
      f(a),
      f(b),
      f(e),
      fixed(a / e),
      fixed(b / e),
    ];
    const ms = (n: number) => fixed(n, 3);
    const span = (w: AgentWindow) => `ticks ${w.from}–${w.from + w.ticks}`;
    const windows: [string, AgentWindow, AgentWindow][] = [[`first minute, ${span(agent.first)}`, agent.first, bare.first]];
    if (agent.steady && bare.steady) windows.push([`steady state, ${span(agent.steady)}`, agent.steady, bare.steady]);
    console.log(
      table([
        ['', 'agent', 'agent, no node flags', 'redis_exporter', 'ratio agent/exporter', 'no flags/exporter'],
        ...windows.map(([what, a, b]) =>
          row(`CPU ms per instance-sample, ${what}`, a.cpuPerSample, b.cpuPerSample, exporter.cpuPerSample, ms),
        ),
        row('Redis-side µs per sample', agent.redisUsecPerSample, bare.redisUsecPerSample, exporter.redisUsecPerSample, (n) => fixed(n, 1)),
        row('RSS high-water (VmHWM)', agent.hwm, bare.hwm, exporter.hwm, mb),
        row('RSS steady (VmRSS at the end)', agent.rss, bare.rss, exporter.rss, mb),
        row('  of which anonymous (RssAnon)', agent.anon, bare.anon, exporter.anon, mb),
      ]),
    );
    for (const [what, a, b] of windows) {
      console.log(`agent CPU per tick (8 instances + host), ${what}: ${fixed(a.cpuPerTick)} ms (no flags ${fixed(b.cpuPerTick)} ms)`);
      console.log(
        `  against redis_exporter scraped once a second like the agent's ticks (not back to back, ${ms(paced.cpuPerSample)} ms per instance-sample): ` +
          `agent/exporter ${fixed(a.cpuPerSample / paced.cpuPerSample)} (no flags ${fixed(b.cpuPerSample / paced.cpuPerSample)})`,
      );
    }
    console.log(`redis_exporter scraped once a second: RSS ${mb(paced.rss)}`);
    // Issue 17's agent targets, against the exporter measured above: a daemon's cost is its steady state.
    const targetWindow = agent.steady ? 'steady state' : 'first minute (no steady window: BENCH_STEADY_TICKS=0)';
    const cpuRatio = agent.target.cpuPerSample / exporter.cpuPerSample;
    const rssRatio = agent.rss / exporter.rss;
    const pacedRatio = agent.target.cpuPerSample / paced.cpuPerSample;
    const coldRatio = agent.first.cpuPerSample / exporter.cpuPerSample;
    const targets: (string | number)[][] = [
      ['target', 'ratio now', 'met'],
      [`agent CPU ≤ 0.25× exporter per instance-sample, ${targetWindow}`, fixed(cpuRatio), cpuRatio <= 0.25 ? 'yes' : 'no'],
      ['  the same against the exporter scraped once a second', fixed(pacedRatio), pacedRatio <= 0.25 ? 'yes' : 'no'],
    ];
    if (agent.steady)
      targets.push(['  (for the record) the first minute, V8 still compiling', fixed(coldRatio), coldRatio <= 0.25 ? 'yes' : 'no']);
    targets.push(
      ['agent steady RSS ≤ 2× exporter', fixed(rssRatio), rssRatio <= 2 ? 'yes' : 'no'],
      ['agent VmHWM ≤ 2× exporter', fixed(agent.hwm / exporter.hwm), agent.hwm / exporter.hwm <= 2 ? 'yes' : 'no'],
    );
    console.log(table(targets));
    if (process.env.BENCH_AGENT_ONLY) return;

    const more = await Promise.all(Array.from({ length: 24 }, () => h.redis()));
    const agent32 = await agentPhase(h, [...rs, ...more], undefined, false);
    console.log(
      `agent with 32 instances, ${span(agent32.target)}: CPU per tick ${fixed(agent32.target.cpuPerTick)} ms, ${fixed(agent32.target.cpuPerSample, 3)} ms per instance-sample, RSS ${mb(agent32.rss)} (VmHWM ${mb(agent32.hwm)})`,
    );
    await Promise.all(more.map((r) => r.stop()));

    console.log(`\n## collector ingest: ${STREAMS} concurrent agent streams, 8 instances per report, ${INGEST_SECONDS} s`);
    const rows: (string | number)[][] = [
      ['sink', 'instance samples/s', 'reports', 'collector CPU %', 'collector VmHWM', 'points written', 'dropped'],
    ];
    for (const mode of ['embedded', 'influx'] as const) {
      const r = await ingestPhase(h, mode, 8);
      rows.push([
        mode,
        fixed(r.samplesPerSec, 0),
        r.reports,
        fixed(r.cpuPercent, 0),
        mb(r.rss),
        r.sink.written ?? '',
        (r.sink.droppedNoRoom ?? 0) + (r.sink.droppedRejected ?? 0),
      ]);
    }
    console.log(table(rows));
    const raw = await rawInfluxCeiling(h);
    console.log(
      `peer ceiling: InfluxDB 1.6 alone takes ${fixed(raw.pointsPerSec, 0)} points/s of ${raw.fieldsPerPoint} int fields via /write (5,000-line batches)`,
    );
    console.log('(each instance sample is ~8–40 points: redis + cmdstat/latency/keyspace/replica rows)');
  } finally {
    await h.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
