// Cost of one local discovery scan (npm run bench -- discovery): our procfs scan vs systeminformation's
// si.processes() + si.networkConnections(), in the same run, with N real redis-servers (plus a
// sentinel and a nutcracker) running beside the machine's other processes. systeminformation forks
// ps / ss, so its CPU is the node process's plus its reaped children's (cutime + cstime).
//   DISCOVERY_BENCH_REDIS=8 DISCOVERY_BENCH_CONNS=2000 DISCOVERY_BENCH_RUNS=20 (defaults)
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import * as si from 'systeminformation';
import { discoverLocal } from '../../agent/discovery/index.js';
import { harness } from '../harness/index.js';
import { fixed, table } from './lib.js';

const N_REDIS = Number(process.env.DISCOVERY_BENCH_REDIS ?? 8);
const N_CONNS = Number(process.env.DISCOVERY_BENCH_CONNS ?? 2000);
const RUNS = Number(process.env.DISCOVERY_BENCH_RUNS ?? 20);
const CLK_TCK = 100;

/** This process's CPU ms and that of its waited-for children (from /proc/self/stat). */
function cpu(): { self: number; children: number } {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { self: ((f[11]! + f[12]!) * 1000) / CLK_TCK, children: ((f[13]! + f[14]!) * 1000) / CLK_TCK };
}

interface Cost {
  wallMedian: number;
  wallMean: number;
  self: number;
  children: number;
  found: number;
}

class Meter {
  private walls: number[] = [];
  private self = 0;
  private children = 0;
  found = 0;
  constructor(private readonly fn: () => Promise<number>) {}

  async once(): Promise<void> {
    const c0 = cpu();
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    this.found = await this.fn();
    this.walls.push(performance.now() - t0);
    const u = process.cpuUsage(u0);
    this.self += (u.user + u.system) / 1000;
    this.children += cpu().children - c0.children;
  }

  result(): Cost {
    const n = this.walls.length;
    const sorted = [...this.walls].sort((a, b) => a - b);
    return {
      wallMedian: sorted[Math.floor(n / 2)]!,
      wallMean: this.walls.reduce((a, b) => a + b, 0) / n,
      self: this.self / n,
      children: this.children / n,
      found: this.found,
    };
  }
}

/** Alternates the two sources call by call, so the load of the shared machine weighs on both alike. */
async function compare(runs: number, a: () => Promise<number>, b: () => Promise<number>): Promise<[Cost, Cost]> {
  await a(); // warm-up: module loading, JIT, systeminformation's first-call setup
  await b();
  const ma = new Meter(a);
  const mb = new Meter(b);
  for (let i = 0; i < runs; i++) {
    await ma.once();
    await mb.once();
  }
  return [ma.result(), mb.result()];
}

async function main(): Promise<void> {
  const h = await harness();
  const sockets: net.Socket[] = [];
  try {
    const redis = [];
    for (let i = 0; i < N_REDIS; i++) redis.push(await h.redis());
    await h.sentinel({ masters: [{ name: 'm', master: redis[0]! }] });
    await h.nutcracker({ pools: { main: { servers: [redis[0]!] } } });
    const ours = new Set(h.runningPids());

    const ourScan = async (): Promise<number> => (await discoverLocal()).instances.filter((i) => ours.has(i.pid)).length;
    const siScan = async (): Promise<number> => {
      const [procs, conns] = await Promise.all([si.processes(), si.networkConnections()]);
      const redisPids = new Set(procs.list.filter((p) => p.name.startsWith('redis-') || p.name === 'nutcracker').map((p) => p.pid));
      return new Set(conns.filter((c) => c.state === 'LISTEN' && redisPids.has(c.pid) && ours.has(c.pid)).map((c) => c.pid)).size;
    };

    const rows: (string | number)[][] = [
      [
        'scenario',
        'source',
        'wall ms/scan (median)',
        'wall ms (mean)',
        'node CPU ms/scan',
        'children CPU ms/scan',
        'total CPU ms/scan',
        'our processes found',
      ],
    ];
    const ratios: string[] = [];
    const scenario = async (name: string): Promise<void> => {
      const [d, s] = await compare(RUNS, ourScan, siScan);
      for (const [source, c] of [
        ['discoverLocal()', d],
        ['si.processes()+si.networkConnections()', s],
      ] as const) {
        rows.push([
          name,
          source,
          fixed(c.wallMedian),
          fixed(c.wallMean),
          fixed(c.self),
          fixed(c.children),
          fixed(c.self + c.children),
          `${c.found}/${ours.size}`,
        ]);
      }
      ratios.push(
        `${name}: discoverLocal / systeminformation = ${fixed(d.wallMedian / s.wallMedian, 3)}x wall (median), ${fixed((d.self + d.children) / (s.self + s.children), 3)}x CPU`,
      );
    };

    const pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
    await scenario(`${N_REDIS} redis idle`);
    // Many client connections: every fd of a candidate is a readlink, so this is the scan's worst case.
    const target = redis[0]!;
    for (let i = 0; i < N_CONNS; i++) {
      const s = net.connect({ host: target.host, port: target.port });
      s.on('error', () => {
        /* closed at the end */
      });
      sockets.push(s);
    }
    await Promise.all(sockets.map((s) => new Promise((resolve) => (s.readyState === 'open' ? resolve(null) : s.once('connect', resolve)))));
    await scenario(`+${N_CONNS} conns on one`);

    console.log(
      `# discovery scan cost, node ${process.version}, ${new Date().toISOString()}, ${pids} pids on the host, ${ours.size} of them ours (${N_REDIS} redis + sentinel + nutcracker), ${RUNS} scans each, alternated; load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} on ${os.cpus().length} cores`,
    );
    console.log(table(rows));
    for (const r of ratios) console.log(r);
  } finally {
    for (const s of sockets) s.destroy();
    await h.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
