// Cost of one codis-dashboard poll (npm run bench -- codis-dashboard) against a real Codis 3.2
// product (h.codis), in the same run as its peers:
//   - ours: pollCodisDashboard() — GET /topom, parse, build the codis_dashboard sample;
//   - floor: the same GET /topom with fetch + JSON.parse only (what any reader pays);
//   - codis-admin --dashboard=ADDR stats: Codis's own CLI reading /topom/stats (a Go process per poll;
//     its CPU is a reaped child's);
//   - per-target: what the sample would cost without the dashboard — INFO of every server plus
//     GET /proxy/stats of every proxy (one agent per host would do its share of this).
// Bytes on the wire are measured once per source with and without gzip.
//   CODIS_BENCH_GROUPS=4 CODIS_BENCH_PROXIES=2 CODIS_BENCH_SENTINELS=3 CODIS_BENCH_RUNS=30 (defaults)
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { gunzipSync } from 'node:zlib';
import { pollCodisDashboard } from '../../proxy/index.js';
import { codisAdmin, harness, redisCall } from '../harness/index.js';
import { fixed, selfAndChildrenCpuMs as cpu, table } from './lib.js';

const GROUPS = Number(process.env.CODIS_BENCH_GROUPS ?? 4);
const PROXIES = Number(process.env.CODIS_BENCH_PROXIES ?? 2);
const SENTINELS = Number(process.env.CODIS_BENCH_SENTINELS ?? 3);
const RUNS = Number(process.env.CODIS_BENCH_RUNS ?? 30);
/** Wire bytes of one GET (body as sent, headers excluded), with or without gzip. */
function wireBytes(url: string, gzip: boolean): Promise<{ wire: number; body: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          resolve({ wire: raw.length, body: res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).length : raw.length });
        });
      })
      .on('error', reject);
  });
}

interface Cost {
  name: string;
  wall: number[];
  self: number;
  children: number;
}

async function main(): Promise<void> {
  const h = await harness();
  try {
    const codis = await h.codis({
      product: 'bench',
      productAuth: 'bench-pass',
      groups: GROUPS,
      replicas: 1,
      proxies: PROXIES,
      sentinels: SENTINELS,
      timeoutMs: 120_000,
    });
    const dash = codis.dashboardAddress;
    const sources: Array<[string, () => Promise<unknown>]> = [
      [
        'pollCodisDashboard (GET /topom + sample)',
        () =>
          pollCodisDashboard({ adminAddress: dash, productName: 'bench', timeoutMs: 10_000 }).then((s) => {
            if (!s.up) throw new Error(s.error);
          }),
      ],
      ['fetch /topom + JSON.parse (floor)', async () => JSON.parse(await (await fetch(`http://${dash}/topom`)).text())],
      ['codis-admin --dashboard stats', () => codisAdmin([`--dashboard=${dash}`, 'stats'])],
      [
        `per-target: INFO x${codis.servers.length} + /proxy/stats x${PROXIES}`,
        () =>
          Promise.all([
            ...codis.servers.map((s) => redisCall(s.port, ['INFO'], { password: 'bench-pass' })),
            ...codis.proxies.map(async (p) => JSON.parse(await (await fetch(`http://${p.adminAddress}/proxy/stats`)).text())),
          ]),
      ],
    ];
    for (const [, fn] of sources) await fn(); // warm-up
    const costs: Cost[] = sources.map(([name]) => ({ name, wall: [], self: 0, children: 0 }));
    // Alternated call by call, so the shared machine's load weighs on every source alike.
    for (let r = 0; r < RUNS; r++) {
      for (let i = 0; i < sources.length; i++) {
        const c0 = cpu();
        const u0 = process.cpuUsage();
        const t0 = performance.now();
        await sources[i]![1]();
        costs[i]!.wall.push(performance.now() - t0);
        const u = process.cpuUsage(u0);
        costs[i]!.self += (u.user + u.system) / 1000;
        costs[i]!.children += cpu().children - c0.children;
      }
    }
    const topomGz = await wireBytes(`http://${dash}/topom`, true);
    const topomPlain = await wireBytes(`http://${dash}/topom`, false);
    const statsGz = await wireBytes(`http://${dash}/topom/stats`, true);
    let perTargetProxyGz = 0;
    for (const p of codis.proxies) perTargetProxyGz += (await wireBytes(`http://${p.adminAddress}/proxy/stats`, true)).wire;
    let infoBytes = 0;
    for (const s of codis.servers) infoBytes += String(await redisCall(s.port, ['INFO'], { password: 'bench-pass' })).length;
    const bytes: Record<string, string> = {
      [costs[0]!.name]: `${topomGz.wire} gz (${topomPlain.wire} plain)`,
      [costs[1]!.name]: `${topomGz.wire} gz (${topomPlain.wire} plain)`,
      [costs[2]!.name]: `${statsGz.wire} gz`,
      [costs[3]!.name]: `${infoBytes + perTargetProxyGz} (INFO ${infoBytes} + proxies ${perTargetProxyGz} gz)`,
    };

    const rows: (string | number)[][] = [['source', 'wall ms (median)', 'node CPU ms/poll', 'children CPU ms/poll', 'bytes received/poll']];
    for (const c of costs) {
      const sorted = [...c.wall].sort((a, b) => a - b);
      rows.push([c.name, fixed(sorted[Math.floor(sorted.length / 2)]!), fixed(c.self / RUNS), fixed(c.children / RUNS), bytes[c.name]!]);
    }
    console.log(
      `# codis-dashboard poll cost, node ${process.version}, ${new Date().toISOString()}: product with ${GROUPS} groups x (master + replica), ${PROXIES} proxies, ${SENTINELS} Sentinels, 1024 slots; ${RUNS} polls per source, alternated; load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} on ${os.cpus().length} cores`,
    );
    console.log(table(rows));
    const ours = costs[0]!.self / RUNS;
    console.log(
      `pollCodisDashboard / floor = ${fixed(ours / (costs[1]!.self / RUNS), 2)}x node CPU; / codis-admin = ${fixed(ours / ((costs[2]!.self + costs[2]!.children) / RUNS), 2)}x total CPU; / per-target = ${fixed(ours / (costs[3]!.self / RUNS), 2)}x node CPU`,
    );
  } finally {
    await h.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
