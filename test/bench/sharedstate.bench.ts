// Shared state benchmark (npm run bench -- sharedstate): the fleet state path of a cluster (hosts and
// latest instance samples in PostgreSQL, collector/store-pg.ts) beside the embedded SQLite store on
// the same data in the same run. A synthetic fleet (HOSTS × 8 instances, the real INFO capture per
// instance) split over two members as rendezvous hashing would: a first sync of the whole fleet, then
// steady syncs where each member writes what changed in one syncInterval at a 10 s report interval
// and reads what the other wrote. PostgreSQL's CPU is its postmaster's and backends'.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../common/index.js';
import { openPostgres, type PgPool } from '../../collector/pg.js';
import { PgFleetStore } from '../../collector/store-pg.js';
import { Store, type HostRecord, type InstanceRecord } from '../../collector/store.js';
import type { RedisSample } from '../../proto/index.js';
import { harness, type PostgresServer } from '../harness/index.js';
import { fixed, mb, table, treeCpuMs } from './lib.js';
import { syntheticSamples } from './ingest.js';

const HOSTS = (process.env.BENCH_HOSTS ?? '1000,10000').split(',').map(Number);
const SYNCS = Number(process.env.BENCH_SYNCS ?? 10);
const PER_HOST = 8;
const INTERVAL_MS = 10_000;
const SYNC_MS = 500; // cluster.syncInterval default
const MEMBERS = 2;
/** Whole samples in PostgreSQL (the "before" row) only up to this fleet: ~9 KB a row makes the larger first syncs take minutes here. */
const FULL_MAX_HOSTS = Number(process.env.BENCH_FULL_MAX_HOSTS ?? 1000);

const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Fleet {
  hosts: HostRecord[];
  instances: InstanceRecord[];
  byHost?: Map<string, InstanceRecord[]>;
}

function fleet(n: number, now: number): Fleet {
  const template = syntheticSamples(PER_HOST);
  const hosts: HostRecord[] = [];
  const instances: InstanceRecord[] = [];
  for (let i = 0; i < n; i++) {
    const id = `host-${i}`;
    const addresses = template.map((_, k) => `10.${(i >> 8) & 255}.${i & 255}.1:${6379 + k}`);
    hosts.push({
      id,
      labels: { idc: `idc${i % 3}`, env: 'prod' },
      roles: ['redis'],
      agentVersion: 'bench',
      intervalMs: INTERVAL_MS,
      sessionId: `${id}-s`,
      lastSeq: 1,
      lastReportAt: now,
      lastSeenAt: now,
      reportTimeMs: now,
      status: 'up',
      statusSince: now,
      host: null,
      capacity: null,
      agent: null,
      instances: addresses,
    });
    addresses.forEach((address, k) =>
      instances.push({
        id: `${id}/${address}`,
        host: id,
        address,
        receivedAt: now,
        sample: { ...template[k]!, address, sampledAtMs: now },
      }),
    );
  }
  const byHost = new Map<string, InstanceRecord[]>();
  for (const i of instances) byHost.set(i.host, [...(byHost.get(i.host) ?? []), i]);
  return { hosts, instances, byHost };
}

/** One member's share of what changed in one syncInterval (each host reports once per interval). */
function changed(f: Fleet, member: number, sync: number, now: number): Fleet {
  const perSync = Math.max(1, Math.round((f.hosts.length * SYNC_MS) / INTERVAL_MS));
  const hosts: HostRecord[] = [];
  const instances: InstanceRecord[] = [];
  for (let j = 0; j < perSync; j++) {
    const h = f.hosts[(sync * perSync + j) % f.hosts.length]!;
    if (Number(h.id.slice(5)) % MEMBERS !== member) continue;
    h.lastSeenAt = h.lastReportAt = h.reportTimeMs = now;
    hosts.push(h);
    instances.push(...f.byHost!.get(h.id)!);
  }
  for (const i of instances) {
    i.receivedAt = now;
    (i.sample as RedisSample).sampledAtMs = now;
  }
  return { hosts, instances };
}

interface Row {
  store: string;
  hosts: number;
  firstRows: number;
  firstMs: number;
  firstDbCpuMs: number;
  firstCollectorCpuMs: number;
  syncRowsWritten: number;
  syncRowsRead: number;
  syncMs: number;
  syncDbCpuMs: number;
  syncCollectorCpuMs: number;
  size: number;
}

async function pgRun(server: PostgresServer, f: Fleet, label: string, fullSamples: boolean): Promise<Row> {
  const log = createLogger('bench', 'silent');
  const database = await server.createDatabase();
  const config = { ...server.collectorConfig, database, password: server.password, poolSize: 8, connectTimeoutMs: 5000 } as never;
  const pools: PgPool[] = [];
  for (let m = 0; m < MEMBERS; m++) pools.push(await openPostgres(config, log));
  const stores = pools.map((p, m) => new PgFleetStore(p, `member-${m}`, { fullSamples }));
  const cursors = stores.map(() => 0);
  const measure = async (fn: () => Promise<void>) => {
    const db0 = treeCpuMs(server.pid);
    const c0 = selfCpuMs();
    const t0 = performance.now();
    await fn();
    return { ms: performance.now() - t0, dbCpuMs: treeCpuMs(server.pid) - db0, cpuMs: selfCpuMs() - c0 };
  };
  try {
    // First sync: every member writes all its hosts, then reads the others'.
    let read = 0;
    const first = await measure(async () => {
      await Promise.all(
        stores.map((s, m) =>
          s.saveState(
            f.hosts.filter((_, i) => i % MEMBERS === m),
            f.instances.filter((x) => Number(x.host.slice(5)) % MEMBERS === m),
            [],
          ),
        ),
      );
      for (const [m, s] of stores.entries()) {
        const c = await s.changedSince(cursors[m]!);
        cursors[m] = c.cursor;
        read += c.instances.length;
      }
    });
    let written = 0;
    const now = Date.now();
    const round = async (k: number) => {
      await Promise.all(
        stores.map((s, m) => {
          const d = changed(f, m, k, now + k * SYNC_MS);
          written += d.instances.length;
          return s.saveState(d.hosts, d.instances, []);
        }),
      );
      await Promise.all(
        stores.map(async (s, m) => {
          const c = await s.changedSince(cursors[m]!);
          cursors[m] = c.cursor;
          read += c.instances.length;
        }),
      );
    };
    // A reader re-reads from its cursor of two reads ago (store-pg.ts): the first two syncs after the first re-read it.
    for (let k = 0; k < 2; k++) await round(k);
    written = read = 0;
    const steady = await measure(async () => {
      for (let k = 2; k < SYNCS + 2; k++) await round(k);
    });
    const size = Number(
      (
        await pools[0]!.query<{ b: string }>(
          "SELECT pg_total_relation_size('fleet_instances') + pg_total_relation_size('fleet_hosts') AS b",
        )
      ).rows[0]!.b,
    );
    return {
      store: label,
      hosts: f.hosts.length,
      firstRows: f.instances.length,
      firstMs: first.ms,
      firstDbCpuMs: first.dbCpuMs,
      firstCollectorCpuMs: first.cpuMs,
      syncRowsWritten: written / SYNCS,
      syncRowsRead: read / SYNCS,
      syncMs: steady.ms / SYNCS,
      syncDbCpuMs: steady.dbCpuMs / SYNCS,
      syncCollectorCpuMs: steady.cpuMs / SYNCS,
      size,
    };
  } finally {
    for (const p of pools) await p.end();
    await server.query(`DROP DATABASE ${database}`).catch(() => undefined);
  }
}

/** The embedded store: one collector persists the whole fleet's changes (no reads: nobody else writes). */
function sqliteRun(f: Fleet): Row {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-sqlite-'));
  const store = Store.open(path.join(dir, 'collector.db'));
  try {
    const c0 = selfCpuMs();
    const t0 = performance.now();
    store.saveState(f.hosts, f.instances, []);
    const firstMs = performance.now() - t0;
    const firstCpu = selfCpuMs() - c0;
    let written = 0;
    const now = Date.now();
    const c1 = selfCpuMs();
    const t1 = performance.now();
    for (let k = 0; k < SYNCS; k++) {
      const parts = Array.from({ length: MEMBERS }, (_, m) => changed(f, m, k, now + k * SYNC_MS));
      const instances = parts.flatMap((p) => p.instances);
      written += instances.length;
      store.saveState(
        parts.flatMap((p) => p.hosts),
        instances,
        [],
      );
    }
    const syncMs = (performance.now() - t1) / SYNCS;
    const syncCpu = (selfCpuMs() - c1) / SYNCS;
    const size = fs.readdirSync(dir).reduce((a, x) => a + fs.statSync(path.join(dir, x)).size, 0);
    return {
      store: 'SQLite (embedded, 1 collector)',
      hosts: f.hosts.length,
      firstRows: f.instances.length,
      firstMs,
      firstDbCpuMs: 0,
      firstCollectorCpuMs: firstCpu,
      syncRowsWritten: written / SYNCS,
      syncRowsRead: 0,
      syncMs,
      syncDbCpuMs: 0,
      syncCollectorCpuMs: syncCpu,
      size,
    };
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const h = await harness();
  try {
    console.log(
      `# sharedstate benchmark: fleets of ${HOSTS.join(', ')} hosts × ${PER_HOST} instances, ${MEMBERS} members, ${INTERVAL_MS / 1000} s interval, ${SYNC_MS} ms syncs (${SYNCS} measured), node ${process.version}, ${new Date().toISOString()}`,
    );
    const server = await h.postgres();
    const rows: (string | number)[][] = [
      [
        'store',
        'hosts',
        'first sync: instance rows',
        'ms',
        'rows/s',
        'DB CPU ms',
        'collector CPU ms',
        'steady sync: rows written',
        'rows read',
        'ms',
        'DB CPU ms',
        'collector CPU ms',
        'DB cores at this rate',
        'table size',
      ],
    ];
    for (const n of HOSTS) {
      const f = fleet(n, Date.now());
      const variants: (() => Promise<Row> | Row)[] = [
        () => sqliteRun(f),
        ...(n <= FULL_MAX_HOSTS ? [() => pgRun(server, f, 'PostgreSQL, full samples (before)', true)] : []),
        () => pgRun(server, f, 'PostgreSQL, view fields (now)', false),
      ];
      for (const run of variants) {
        const r = await run();
        rows.push([
          r.store,
          r.hosts,
          r.firstRows,
          fixed(r.firstMs, 0),
          fixed((r.firstRows / r.firstMs) * 1000, 0),
          r.firstDbCpuMs ? fixed(r.firstDbCpuMs, 0) : '',
          fixed(r.firstCollectorCpuMs, 0),
          fixed(r.syncRowsWritten, 0),
          fixed(r.syncRowsRead, 0),
          fixed(r.syncMs, 1),
          r.syncDbCpuMs ? fixed(r.syncDbCpuMs, 1) : '',
          fixed(r.syncCollectorCpuMs, 1),
          r.syncDbCpuMs ? fixed(r.syncDbCpuMs / SYNC_MS, 2) : '',
          mb(r.size),
        ]);
        console.log(`  ${r.store}, ${n} hosts: done`);
      }
    }
    console.log(table(rows));
    console.log(
      "(steady sync: both members' writes of one syncInterval, then both reads; collector CPU is this process's, both members' share; PostgreSQL and this process share the machine's cores)",
    );
  } finally {
    await h.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
