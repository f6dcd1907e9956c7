// Cost of one local discovery scan (npm run bench -- discovery): our procfs scan vs systeminformation's
// si.processes() + si.networkConnections(), in the same run, with N real redis-servers (plus a
// sentinel and a nutcracker) running beside the machine's other processes. systeminformation forks
// ps / ss, so its CPU is the node process's plus its reaped children's (cutime + cstime).
//   DISCOVERY_BENCH_REDIS=8 DISCOVERY_BENCH_CONNS=2000 DISCOVERY_BENCH_RUNS=10
import fs from 'node:fs';
import net from 'node:net';
import * as si from 'systeminformation';
import { discoverLocal } from '../../agent/discovery/index.js';
import { harness } from '../harness/index.js';
import { fixed, table } from './lib.js';

const N_REDIS = Number(process.env.DISCOVERY_BENCH_REDIS ?? 8);
const N_CONNS = Number(process.env.DISCOVERY_BENCH_CONNS ?? 2000);
const RUNS = Number(process.env.DISCOVERY_BENCH_RUNS ?? 10);
const CLK_TCK = 100;

/** This process's CPU ms and that of its waited-for children (from /proc/self/stat). */
function cpu(): { self: number; children: number } {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return { self: ((f[11]! + f[12]!) * 1000) / CLK_TCK, children: ((f[13]! + f[14]!) * 1000) / CLK_TCK };
}

interface Cost { wall: number; self: number; children: number; found: number }

async function measure(runs: number, fn: () => Promise<number>): Promise<Cost> {
  await fn(); // warm-up: module loading, JIT, systeminformation's first-call setup
  const c0 = cpu();
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  let found = 0;
  for (let i = 0; i < runs; i++) found = await fn();
  const wall = (performance.now() - t0) / runs;
  const u = process.cpuUsage(u0);
  const c1 = cpu();
  return { wall, self: (u.user + u.system) / 1000 / runs, children: (c1.children - c0.children) / runs, found };
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

    const rows: (string | number)[][] = [['scenario', 'source', 'wall ms/scan', 'node CPU ms/scan', 'children CPU ms/scan', 'total CPU ms/scan', 'our processes found']];
    const ratios: string[] = [];
    const scenario = async (name: string): Promise<void> => {
      const d = await measure(RUNS, ourScan);
      const s = await measure(RUNS, siScan);
      rows.push([name, 'discoverLocal()', fixed(d.wall), fixed(d.self), fixed(d.children), fixed(d.self + d.children), `${d.found}/${ours.size}`]);
      rows.push([name, 'si.processes()+si.networkConnections()', fixed(s.wall), fixed(s.self), fixed(s.children), fixed(s.self + s.children), `${s.found}/${ours.size}`]);
      ratios.push(`${name}: discoverLocal / systeminformation = ${fixed(d.wall / s.wall, 3)}× wall, ${fixed((d.self + d.children) / (s.self + s.children), 3)}× CPU`);
    };

    const pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
    await scenario(`${N_REDIS} redis idle`);
    // Many client connections: every fd of a candidate is a readlink, so this is the scan's worst case.
    const target = redis[0]!;
    for (let i = 0; i < N_CONNS; i++) {
      const s = net.connect({ host: target.host, port: target.port });
      s.on('error', () => { /* closed at the end */ });
      sockets.push(s);
    }
    await Promise.all(sockets.map((s) => new Promise((resolve) => (s.readyState === 'open' ? resolve(null) : s.once('connect', resolve)))));
    await scenario(`+${N_CONNS} conns on one`);

    console.log(`# discovery scan cost, node ${process.version}, ${new Date().toISOString()}, ${pids} pids on the host, ${ours.size} of them ours (${N_REDIS} redis + sentinel + nutcracker), ${RUNS} scans each`);
    console.log(table(rows));
    for (const r of ratios) console.log(r);
  } finally {
    for (const s of sockets) s.destroy();
    await h.close();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
