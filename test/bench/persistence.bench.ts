// Benchmark: one save cycle on N Redis instances of a few hundred MB under a write load,
// (A) Redis's own save trigger firing on all of them together, (B) the persistence scheduler.
// Reports max concurrent forks, peak extra host memory (MemAvailable drop per fork window), wall time of the
// cycle and client write latency, side by side, and checks the scheduler's targets.
//
//   node dist/test/bench/persistence.bench.js [--instances 6] [--size-mb 400] [--rate 5000]
//        [--value-bytes 500] [--order ab|ba] [--json] [--dump samples.json]
//
// Measurement notes (see perForkPeak): peak extra memory is the MemAvailable drop per fork window;
// each cycle saves to a fresh file name so no cycle frees an old RDB's page cache mid-save. ΣPSS of
// the Redis processes and AnonPages are printed as cross-checks.
//
// Exit code 1 when the scheduler misses a target (more than one fork at a time, or peak extra
// memory above 1.3 × its largest single save's COW, by MemAvailable or by Σ PSS).
import fs from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { harness, type RedisServer } from '../harness/index.js';
import { PersistenceScheduler } from '../../agent/persistence/index.js';
import { childPids } from '../../agent/persistence/host.js';
import { createLogger } from '../../common/index.js';
import type { Event } from '../../proto/index.js';

const MiB = 1024 * 1024;

interface Options {
  instances: number;
  sizeMb: number;
  rate: number;
  valueBytes: number;
  order: 'ab' | 'ba';
  json: boolean;
  dump?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { instances: 6, sizeMb: 400, rate: 5000, valueBytes: 500, order: 'ab', json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--instances') o.instances = Number(next());
    else if (a === '--size-mb') o.sizeMb = Number(next());
    else if (a === '--rate') o.rate = Number(next());
    else if (a === '--value-bytes') o.valueBytes = Number(next());
    else if (a === '--order') o.order = next() === 'ba' ? 'ba' : 'ab';
    else if (a === '--json') o.json = true;
    else if (a === '--dump') o.dump = next();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.instances >= 1 && o.instances <= 8)) throw new Error('--instances must be 1..8');
  if (!(o.sizeMb >= 10 && o.sizeMb <= 400)) throw new Error('--size-mb must be 10..400 (8 × 400 MB is the machine budget)');
  return o;
}

// ---------------------------------------------------------------- load worker

interface WorkerInit {
  ports: number[];
  keys: number;
  rate: number;
  valueBytes: number;
}
interface Window {
  name: string;
  from: number;
  to: number;
}
interface LatencyReport {
  name: string;
  probes: number;
  p50: number;
  p99: number;
  max: number;
  batchP99: number;
  writesPerSec: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runLoadWorker(init: WorkerInit): Promise<void> {
  const value = 'v'.repeat(init.valueBytes);
  const perTick = Math.max(1, Math.round(init.rate / 100)); // a batch every 10 ms
  const probes: Array<[number, number]> = []; // [time, latency ms]
  const batches: Array<[number, number]> = [];
  const writes: Array<[number, number]> = []; // [time, count]
  let running = true;
  const clients = init.ports.map((port) => new Redis({ host: '127.0.0.1', port, enableOfflineQueue: true }));
  const probeClients = init.ports.map((port) => new Redis({ host: '127.0.0.1', port }));
  const inFlight = init.ports.map(() => 0);
  const load = setInterval(() => {
    clients.forEach((c, i) => {
      if (inFlight[i]! >= 10) return; // a stalled server does not get an unbounded backlog
      inFlight[i]!++;
      const p = c.pipeline();
      for (let k = 0; k < perTick; k++) p.set(`key:${Math.floor(Math.random() * init.keys)}`, value);
      const t0 = performance.now();
      void p
        .exec()
        .then(() => {
          const now = Date.now();
          batches.push([now, performance.now() - t0]);
          writes.push([now, perTick]);
        })
        .finally(() => {
          inFlight[i]!--;
        });
    });
  }, 10);
  const probeLoops = probeClients.map(async (c, i) => {
    while (running) {
      const t0 = performance.now();
      await c.set(`probe:${i}`, value);
      const ms = performance.now() - t0;
      probes.push([Date.now(), ms]);
      const wait = 5 - ms;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  });
  parentPort!.postMessage({ type: 'ready' });
  parentPort!.on('message', async (msg: { type: string; windows?: Window[] }) => {
    if (msg.type !== 'report') return;
    running = false;
    clearInterval(load);
    await Promise.all(probeLoops);
    const reports: LatencyReport[] = msg.windows!.map((w) => {
      const inW = <T extends [number, number]>(xs: T[]) => xs.filter(([t]) => t >= w.from && t <= w.to);
      const lat = inW(probes)
        .map(([, ms]) => ms)
        .sort((a, b) => a - b);
      const bl = inW(batches)
        .map(([, ms]) => ms)
        .sort((a, b) => a - b);
      const count = inW(writes).reduce((s, [, n]) => s + n, 0);
      return {
        name: w.name,
        probes: lat.length,
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        max: lat.at(-1) ?? NaN,
        batchP99: percentile(bl, 99),
        writesPerSec: count / Math.max(0.001, (w.to - w.from) / 1000),
      };
    });
    for (const c of [...clients, ...probeClients]) c.disconnect();
    parentPort!.postMessage({ type: 'report', reports });
  });
}

// ---------------------------------------------------------------- host sampler

function meminfo(): { available: number; anon: number } {
  const text = fs.readFileSync('/proc/meminfo', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { available: kb('MemAvailable'), anon: kb('AnonPages') };
}

interface HostSample {
  t: number;
  available: number;
  anon: number;
  children: number[];
}

/** Proportional anonymous memory of a process (shared pages split between sharers), bytes. */
function pssAnon(pid: number): number {
  try {
    const m = /^Pss_Anon:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // exited between listing and reading
  }
}

class HostSampler {
  private timer?: NodeJS.Timeout;
  private pssTimer?: NodeJS.Timeout;
  readonly samples: HostSample[] = [];
  /** Σ Pss_Anon of the Redis servers and their fork children (every 250 ms: each read walks ~0.4 GB of page tables). */
  readonly pss: Array<{ t: number; bytes: number }> = [];
  constructor(private readonly pids: number[]) {}
  start(): void {
    this.timer = setInterval(() => {
      const m = meminfo();
      const children = this.pids.flatMap((p) => childPids(p));
      this.samples.push({ t: Date.now(), ...m, children });
    }, 10);
    this.pssTimer = setInterval(() => {
      const all = [...this.pids, ...this.pids.flatMap((p) => childPids(p))];
      this.pss.push({ t: Date.now(), bytes: all.reduce((sum, p) => sum + pssAnon(p), 0) });
    }, 250);
  }
  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.pssTimer);
  }
  window(from: number, to: number): HostSample[] {
    return this.samples.filter((s) => s.t >= from && s.t <= to);
  }
}

/**
 * Extra memory while forks run, per fork window: for each child, the level just before it
 * appeared minus the worst level while it lived (max over children). Unlike a drop measured from
 * the start of the cycle, it does not add up memory that earlier children freed: on some VMs
 * (this Firecracker guest with free-page reporting) memory freed by an exiting child does not
 * return to MemFree/MemAvailable for minutes, so a cycle-wide drop there is the SUM of all saves'
 * COW however they are spaced.
 */
function perForkPeak(samples: HostSample[], metric: 'available' | 'anon'): number {
  const spans = new Map<number, { first: number; last: number }>();
  samples.forEach((s, i) => {
    for (const pid of s.children) {
      const span = spans.get(pid);
      if (span) span.last = i;
      else spans.set(pid, { first: i, last: i });
    }
  });
  let peak = 0;
  for (const { first, last } of spans.values()) {
    const before = samples[Math.max(0, first - 1)]![metric];
    const during = samples.slice(first, last + 2).map((s) => s[metric]);
    const extra = metric === 'available' ? before - Math.min(...during) : Math.max(...during) - before;
    peak = Math.max(peak, extra);
  }
  return peak;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PhaseResult {
  name: string;
  maxForks: number;
  /** MemAvailable, per fork window (see perForkPeak): the figure the target is checked on. */
  peakExtraBytes: number;
  /** MemAvailable, cycle start baseline → minimum (adds up freed-but-unreturned memory on this VM). */
  cycleDropBytes: number;
  /** Same drop one second after the cycle: what never came back. */
  unreturnedBytes: number;
  peakExtraAnonBytes: number;
  /** Σ Pss_Anon of Redis and its children: peak over the cycle minus the level before it. */
  peakExtraPssBytes: number;
  largestCowBytes: number;
  cows: number[];
  wallMs: number;
  from: number;
  to: number;
}

async function info(c: Redis, section: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of String(await c.info(section)).split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** No fork running, and MemAvailable steady (this VM hands freed memory back slowly), at most 90 s. */
async function settle(pids: number[]): Promise<number> {
  while (pids.some((p) => childPids(p).length > 0)) await pause(100);
  const started = Date.now();
  await pause(2000);
  let prev = meminfo().available;
  while (Date.now() - started < 90_000) {
    await pause(2000);
    const now = meminfo().available;
    if (Math.abs(now - prev) < 10 * MiB) break;
    prev = now;
  }
  return Date.now() - started;
}

async function measure(name: string, sampler: HostSampler, clients: Redis[], cycle: () => Promise<void>): Promise<PhaseResult> {
  const baseFrom = Date.now();
  await pause(1500);
  const base = sampler.window(baseFrom, Date.now());
  const baseAvail = median(base.map((s) => s.available));
  const basePss = median(sampler.pss.filter((s) => s.t >= baseFrom).map((s) => s.bytes));
  const from = Date.now();
  await cycle();
  const to = Date.now();
  await pause(1000);
  const during = sampler.window(from - 50, to + 100);
  const afterAvail = median(sampler.window(Date.now() - 300, Date.now()).map((s) => s.available));
  const cows = await Promise.all(clients.map(async (c) => Number((await info(c, 'persistence')).rdb_last_cow_size)));
  return {
    name,
    maxForks: Math.max(...during.map((s) => s.children.length)),
    peakExtraBytes: perForkPeak(during, 'available'),
    cycleDropBytes: baseAvail - Math.min(...during.map((s) => s.available)),
    unreturnedBytes: baseAvail - afterAvail,
    peakExtraAnonBytes: perForkPeak(during, 'anon'),
    peakExtraPssBytes: Math.max(...sampler.pss.filter((s) => s.t >= from && s.t <= to + 250).map((s) => s.bytes)) - basePss,
    largestCowBytes: Math.max(...cows),
    cows,
    wallMs: to - from,
    from,
    to,
  };
}

/** (A) Redis's own trigger, set on every instance at once; each is switched off again once it forked. */
async function redisTriggers(clients: Redis[]): Promise<void> {
  const before = await Promise.all(clients.map(async (c) => Number((await info(c, 'persistence')).rdb_saves)));
  await Promise.all(clients.map((c) => c.config('SET', 'save', '1 1')));
  const fired = clients.map(() => false);
  for (;;) {
    const infos = await Promise.all(clients.map((c) => info(c, 'persistence')));
    await Promise.all(
      infos.map(async (inf, i) => {
        if (!fired[i] && Number(inf.rdb_saves) > before[i]!) {
          fired[i] = true;
          await clients[i]!.config('SET', 'save', '');
        }
      }),
    );
    if (infos.every((inf, i) => fired[i] && inf.rdb_bgsave_in_progress === '0')) return;
    await pause(20);
  }
}

/** (B) The scheduler: one backup save per instance, one fork at a time, memory admission on. */
async function scheduled(servers: RedisServer[], events: Event[]): Promise<void> {
  const scheduler = new PersistenceScheduler({
    instances: servers.map((r) => ({ address: r.address, host: r.host, port: r.port, policyOverride: { rdbBackups: true } })),
    logger: createLogger('persistence-bench', 'warn'),
    onEvent: (e) => events.push(e),
  });
  await scheduler.start();
  const since = Date.now();
  scheduler.requestBackups();
  try {
    for (;;) {
      const done = servers.every((r) =>
        events.some((e) => e.kind === 'fork.end' && e.instance === r.address && e.attrs.origin === 'agent' && e.timestampMs >= since),
      );
      if (done) return;
      await pause(20);
    }
  } finally {
    await scheduler.stop();
  }
}

const mb = (b: number) => (b / MiB).toFixed(0);
const fx = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const keys = Math.round((o.sizeMb * MiB) / (o.valueBytes + 90)); // ~90 B of per-key overhead
  const h = await harness();
  const started = Date.now();
  try {
    process.stderr.write(`starting ${o.instances} instances of ~${o.sizeMb} MB (${keys} keys × ${o.valueBytes} B)...\n`);
    const servers = await Promise.all(
      Array.from({ length: o.instances }, () =>
        h.redis({
          save: '',
          args: ['--enable-debug-command', 'local', '--enable-protected-configs', 'local', '--rdbcompression', 'no', '--appendonly', 'no'],
        }),
      ),
    );
    const clients = servers.map((r) => r.client());
    for (const c of clients) await c.call('DEBUG', 'POPULATE', String(keys), 'key', String(o.valueBytes));
    const pids = await Promise.all(clients.map(async (c) => Number((await info(c, 'server')).process_id)));
    const used = await Promise.all(clients.map(async (c) => Number((await info(c, 'memory')).used_memory)));

    const sampler = new HostSampler(pids);
    sampler.start();
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { ports: servers.map((s) => s.port), keys, rate: o.rate, valueBytes: o.valueBytes } satisfies WorkerInit,
    });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    process.stderr.write(`write load ${o.rate}/s per instance; warming up...\n`);
    await pause(4000);

    const events: Event[] = [];
    const phases: PhaseResult[] = [];
    const runA = () => measure('A: Redis triggers', sampler, clients, () => redisTriggers(clients));
    const runB = () => measure('B: scheduler', sampler, clients, () => scheduled(servers, events));
    for (const [tag, p] of o.order === 'ab'
      ? ([
          ['a', runA],
          ['b', runB],
        ] as const)
      : ([
          ['b', runB],
          ['a', runA],
        ] as const)) {
      // Each cycle writes a new file name: replacing the previous dump.rdb would free its page
      // cache during the save, and this VM hides freed memory from MemAvailable for minutes.
      await Promise.all(clients.map((c) => c.config('SET', 'dbfilename', `dump-${tag}.rdb`)));
      const settled = await settle(pids);
      process.stderr.write(`cycle ${tag} (settled ${fx(settled / 1000, 0)} s)...\n`);
      phases.push(await p());
    }
    sampler.stop();

    const reports = await new Promise<LatencyReport[]>((resolve) => {
      worker.on('message', (m: { type: string; reports: LatencyReport[] }) => {
        if (m.type === 'report') resolve(m.reports);
      });
      worker.postMessage({ type: 'report', windows: phases.map((p) => ({ name: p.name, from: p.from, to: p.to })) });
    });
    await worker.terminate();

    const A = phases.find((p) => p.name.startsWith('A'))!;
    const B = phases.find((p) => p.name.startsWith('B'))!;
    const lat = (p: PhaseResult) => reports.find((r) => r.name === p.name)!;
    const ratio = (b: number, a: number) => fx(b / a);
    const rows: Array<[string, string, string, string]> = [
      ['max concurrent forks', String(A.maxForks), String(B.maxForks), ''],
      ['peak extra memory, MemAvailable (MiB)', mb(A.peakExtraBytes), mb(B.peakExtraBytes), ratio(B.peakExtraBytes, A.peakExtraBytes)],
      ['  same, cycle-wide drop (MiB)', mb(A.cycleDropBytes), mb(B.cycleDropBytes), ratio(B.cycleDropBytes, A.cycleDropBytes)],
      ['  not back 1 s after the cycle (MiB)', mb(A.unreturnedBytes), mb(B.unreturnedBytes), ''],
      [
        'peak extra Σ PSS of Redis (MiB, cross-check)',
        mb(A.peakExtraPssBytes),
        mb(B.peakExtraPssBytes),
        ratio(B.peakExtraPssBytes, A.peakExtraPssBytes),
      ],
      [
        'peak extra AnonPages (MiB, cross-check)',
        mb(A.peakExtraAnonBytes),
        mb(B.peakExtraAnonBytes),
        ratio(B.peakExtraAnonBytes, A.peakExtraAnonBytes),
      ],
      ['largest single-save COW (MiB)', mb(A.largestCowBytes), mb(B.largestCowBytes), ratio(B.largestCowBytes, A.largestCowBytes)],
      ['sum of per-save COW (MiB)', mb(A.cows.reduce((x, y) => x + y, 0)), mb(B.cows.reduce((x, y) => x + y, 0)), ''],
      ['peak extra / largest COW', fx(A.peakExtraBytes / A.largestCowBytes), fx(B.peakExtraBytes / B.largestCowBytes), ''],
      ['wall time for the cycle (s)', fx(A.wallMs / 1000, 1), fx(B.wallMs / 1000, 1), ratio(B.wallMs, A.wallMs)],
      ['write latency p99 (ms)', fx(lat(A).p99), fx(lat(B).p99), ratio(lat(B).p99, lat(A).p99)],
      ['write latency p50 (ms)', fx(lat(A).p50), fx(lat(B).p50), ratio(lat(B).p50, lat(A).p50)],
      ['write latency max (ms)', fx(lat(A).max, 1), fx(lat(B).max, 1), ''],
      ['pipelined batch p99 (ms)', fx(lat(A).batchP99), fx(lat(B).batchP99), ratio(lat(B).batchP99, lat(A).batchP99)],
      ['achieved writes/s (all instances)', fx(lat(A).writesPerSec, 0), fx(lat(B).writesPerSec, 0), ''],
    ];
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const line = (r: [string, string, string, string]) =>
      `${r[0].padEnd(w0)}  ${r[1].padStart(18)}  ${r[2].padStart(14)}  ${r[3].padStart(6)}`;
    const oneAtATime = B.maxForks <= 1;
    const memTarget = B.peakExtraBytes <= 1.3 * B.largestCowBytes;
    const pssTarget = B.peakExtraPssBytes <= 1.3 * B.largestCowBytes;
    const out = [
      `persistence benchmark: ${o.instances} instances, used_memory ${used.map((u) => mb(u)).join('/')} MiB, ${o.rate} SET/s per instance (${o.valueBytes} B values), order ${o.order}`,
      line(['', 'A: Redis triggers', 'B: scheduler', 'B/A']),
      ...rows.map(line),
      `per-save COW A (MiB): ${A.cows.map(mb).join(' ')}`,
      `per-save COW B (MiB): ${B.cows.map(mb).join(' ')}`,
      ...phases
        .filter((p) => p.unreturnedBytes > 0.5 * p.cycleDropBytes && p.cycleDropBytes > 2 * p.largestCowBytes)
        .map(
          (p) =>
            `note (${p.name}): ${mb(p.unreturnedBytes)} MiB of MemAvailable did not come back after the children exited; this host does not return freed memory promptly, so the cycle-wide drop adds up every save's COW. The per-fork-window figure is the one checked.`,
        ),
      `target one fork at a time: ${oneAtATime ? 'PASS' : 'FAIL'} (max ${B.maxForks})`,
      `target peak extra memory ≤ 1.3 × largest save COW: MemAvailable per fork window ${memTarget ? 'PASS' : 'FAIL'} (${fx(B.peakExtraBytes / B.largestCowBytes)}×), Σ PSS ${pssTarget ? 'PASS' : 'FAIL'} (${fx(B.peakExtraPssBytes / B.largestCowBytes)}×)`,
      `total bench time ${fx((Date.now() - started) / 1000, 0)} s`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    if (o.dump) fs.writeFileSync(o.dump, JSON.stringify({ phases, samples: sampler.samples, pss: sampler.pss, events }));
    if (o.json) process.stdout.write(`${JSON.stringify({ options: o, phases, latency: reports })}\n`);
    process.exitCode = oneAtATime && memTarget && pssTarget ? 0 : 1;
  } finally {
    await h.close();
  }
}

if (isMainThread) {
  main().catch((err) => {
    process.stderr.write(`persistence bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 2;
  });
} else {
  void runLoadWorker(workerData as WorkerInit);
}
