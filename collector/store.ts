// The collector's SQLite file (WAL): fleet state (hosts, latest instance samples) so
// the HTTP API survives a restart, and — when no InfluxDB is configured — the metric
// history (see history.ts). One file, one connection, synchronous better-sqlite3.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../common/index.js';
import {
  storedSample,
  storedSampleBytes,
  withoutSlowlog,
  type AgentStats,
  type Capacity,
  type HostMetrics,
  type RedisSample,
} from '../proto/index.js';
import { openDatabase, type Database, type Statement } from './sqlite.js';

export type HostStatus = 'up' | 'down';

/** Everything the collector keeps about one host (persisted as one row). */
export interface HostRecord {
  id: string;
  labels: Record<string, string>;
  roles: string[];
  agentVersion: string;
  intervalMs: number;
  sessionId: string;
  /** Highest seq seen in the current session. */
  lastSeq: number;
  /** When the collector received the latest report (ms), null before the first. */
  lastReportAt: number | null;
  /** When the host last said anything (hello or report), ms: the down check's clock. */
  lastSeenAt: number;
  /** The agent's timestamp of the latest report (ms), to ignore replays of older ones. */
  reportTimeMs: number;
  status: HostStatus;
  statusSince: number;
  host: HostMetrics | null;
  capacity: Capacity | null;
  agent: AgentStats | null;
  /** Instance addresses in the latest report. */
  instances: string[];
}

export interface InstanceRecord {
  /** `<hostId>/<address>` */
  id: string;
  host: string;
  address: string;
  sample: RedisSample;
  receivedAt: number;
}

const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hosts (
  id TEXT PRIMARY KEY,
  labels TEXT NOT NULL,
  roles TEXT NOT NULL,
  agent_version TEXT NOT NULL,
  interval_ms INTEGER NOT NULL,
  session_id TEXT NOT NULL,
  last_seq INTEGER NOT NULL,
  last_report_at INTEGER,
  last_seen_at INTEGER NOT NULL,
  report_time_ms INTEGER NOT NULL,
  status TEXT NOT NULL,
  status_since INTEGER NOT NULL,
  host TEXT,
  capacity TEXT,
  agent TEXT,
  instances TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS instances (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  address TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  sample TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_host ON instances(host);
-- Metric history (embedded sink). A series is one measurement + tag set.
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  measurement TEXT NOT NULL,
  tags TEXT NOT NULL,
  UNIQUE (measurement, tags)
);
-- Raw points and 1-minute rollups: a row is a layout id (history_layouts: the field names,
-- and for rollups the aggregate of each) and the values (collector/history-rows.ts). No index on
-- time alone: pruning goes by series and time, or by id (the order rows came in).
CREATE TABLE IF NOT EXISTS history_layouts (
  id INTEGER PRIMARY KEY,
  measurement TEXT NOT NULL,
  columns TEXT NOT NULL,
  UNIQUE (measurement, columns)
);
-- AUTOINCREMENT: ids never come back after a prune empties the table (the rollup cursor is an id).
CREATE TABLE IF NOT EXISTS history_raw (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  series INTEGER NOT NULL,
  time INTEGER NOT NULL,
  layout INTEGER NOT NULL,
  v BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS history_raw_series_time ON history_raw(series, time);
CREATE TABLE IF NOT EXISTS history_1m (
  id INTEGER PRIMARY KEY,
  series INTEGER NOT NULL,
  time INTEGER NOT NULL,
  n INTEGER NOT NULL,
  layout INTEGER NOT NULL,
  v BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS history_1m_series_time ON history_1m(series, time);
-- 5-minute rollups folded from the 1-minute ones (a 24 h chart reads 5x fewer rows); an older
-- file gets the table empty and the collector fills it from its 1-minute rows. chart_layout and
-- chart_v: the same row's values of the charted fields only (CHART_FIELDS in proto/schema.ts).
CREATE TABLE IF NOT EXISTS history_5m (
  id INTEGER PRIMARY KEY,
  series INTEGER NOT NULL,
  time INTEGER NOT NULL,
  n INTEGER NOT NULL,
  layout INTEGER NOT NULL,
  v BLOB NOT NULL,
  chart_layout INTEGER NOT NULL,
  chart_v BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS history_5m_series_time ON history_5m(series, time);
`;

interface HostRow {
  id: string;
  labels: string;
  roles: string;
  agent_version: string;
  interval_ms: number;
  session_id: string;
  last_seq: number;
  last_report_at: number | null;
  last_seen_at: number;
  report_time_ms: number;
  status: string;
  status_since: number;
  host: string | null;
  capacity: string | null;
  agent: string | null;
  instances: string;
}
interface InstanceRow {
  id: string;
  host: string;
  address: string;
  received_at: number;
  /** JSON, or (a form-2 sample) its form-2 bytes with the schema fingerprint: storedSampleBytes(). */
  sample: string | Buffer;
}

const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

export class Store {
  readonly db: Database;
  private readonly upsertHost: Statement;
  private readonly upsertInstance: Statement;
  private readonly deleteInstance: Statement;

  private constructor(
    db: Database,
    readonly file: string,
  ) {
    this.db = db;
    // Upserts, not INSERT OR REPLACE: a replaced row is a delete and an insert in the table and in
    // every index; an update in place leaves the indexes alone (the key does not change).
    this.upsertHost = db.prepare(`INSERT INTO hosts
      (id, labels, roles, agent_version, interval_ms, session_id, last_seq, last_report_at, last_seen_at, report_time_ms,
       status, status_since, host, capacity, agent, instances)
      VALUES (@id, @labels, @roles, @agent_version, @interval_ms, @session_id, @last_seq, @last_report_at, @last_seen_at,
       @report_time_ms, @status, @status_since, @host, @capacity, @agent, @instances)
      ON CONFLICT (id) DO UPDATE SET labels = excluded.labels, roles = excluded.roles, agent_version = excluded.agent_version,
       interval_ms = excluded.interval_ms, session_id = excluded.session_id, last_seq = excluded.last_seq,
       last_report_at = excluded.last_report_at, last_seen_at = excluded.last_seen_at, report_time_ms = excluded.report_time_ms,
       status = excluded.status, status_since = excluded.status_since, host = excluded.host, capacity = excluded.capacity,
       agent = excluded.agent, instances = excluded.instances`);
    // An instance id is `<hostId>/<address>` and a host id has no "/" (validate.ts): the id fixes host and address.
    this.upsertInstance = db.prepare(`INSERT INTO instances (id, host, address, received_at, sample) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET received_at = excluded.received_at, sample = excluded.sample`);
    this.deleteInstance = db.prepare('DELETE FROM instances WHERE id = ?');
  }

  /** Opens (creating if needed) the store; problems are ConfigErrors naming store.path. */
  static open(file: string): Store {
    if (file !== ':memory:') {
      const dir = path.dirname(path.resolve(file));
      if (!fs.existsSync(dir)) throw new ConfigError('store.path', `directory ${dir} does not exist`);
    }
    let db: Database;
    try {
      db = openDatabase(file);
      // Only takes on a new file: pages freed by pruning can then be given back (history.ts).
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      // The WAL file shrinks back after a big checkpoint instead of keeping its high-water mark.
      db.pragma('journal_size_limit = 67108864');
      db.pragma('synchronous = NORMAL');
      db.exec(DDL);
      // Added to history_1m after its first release (the charted-field copy, as in history_5m): empty in older rows.
      const columns = db
        .prepare<{ name: string }>('PRAGMA table_info(history_1m)')
        .all()
        .map((c) => c.name);
      if (!columns.includes('chart_v'))
        db.exec('ALTER TABLE history_1m ADD COLUMN chart_layout INTEGER; ALTER TABLE history_1m ADD COLUMN chart_v BLOB;');
      const v = db.prepare<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").get();
      if (!v) db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
      else if (Number(v.value) > SCHEMA_VERSION) {
        throw new ConfigError(
          'store.path',
          `${file} was written by a newer collector (schema ${v.value}, this one knows ${SCHEMA_VERSION})`,
        );
      }
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError('store.path', `cannot open ${file}: ${(err as Error).message}`);
    }
    return new Store(db, file);
  }

  loadHosts(): HostRecord[] {
    return this.db
      .prepare<HostRow>('SELECT * FROM hosts')
      .all()
      .map((r) => ({
        id: r.id,
        labels: JSON.parse(r.labels) as Record<string, string>,
        roles: JSON.parse(r.roles) as string[],
        agentVersion: r.agent_version,
        intervalMs: r.interval_ms,
        sessionId: r.session_id,
        lastSeq: r.last_seq,
        lastReportAt: r.last_report_at,
        lastSeenAt: r.last_seen_at,
        reportTimeMs: r.report_time_ms,
        status: r.status === 'down' ? 'down' : 'up',
        statusSince: r.status_since,
        host: parse<HostMetrics>(r.host),
        capacity: parse<Capacity>(r.capacity),
        agent: parse<AgentStats>(r.agent),
        instances: JSON.parse(r.instances) as string[],
      }));
  }

  /** The latest samples; one stored in form 2 by a collector of another schema is left out (its next report brings it back). */
  loadInstances(): InstanceRecord[] {
    const out: InstanceRecord[] = [];
    for (const r of this.db.prepare<InstanceRow>('SELECT * FROM instances').all()) {
      const sample = typeof r.sample === 'string' ? (JSON.parse(r.sample) as RedisSample) : storedSample(r.sample);
      if (sample) out.push({ id: r.id, host: r.host, address: r.address, receivedAt: r.received_at, sample: withoutSlowlog(sample) });
    }
    return out;
  }

  /** Writes changed hosts and instances (and removes vanished instances) in one transaction. */
  saveState(hosts: Iterable<HostRecord>, instances: Iterable<InstanceRecord>, removedInstances: Iterable<string>): void {
    this.db.transaction(() => {
      for (const h of hosts) {
        this.upsertHost.run({
          id: h.id,
          labels: JSON.stringify(h.labels),
          roles: JSON.stringify(h.roles),
          agent_version: h.agentVersion,
          interval_ms: h.intervalMs,
          session_id: h.sessionId,
          last_seq: h.lastSeq,
          last_report_at: h.lastReportAt,
          last_seen_at: h.lastSeenAt,
          report_time_ms: h.reportTimeMs,
          status: h.status,
          status_since: h.statusSince,
          host: h.host && JSON.stringify(h.host),
          capacity: h.capacity && JSON.stringify(h.capacity),
          agent: h.agent && JSON.stringify(h.agent),
          instances: JSON.stringify(h.instances),
        });
      }
      // A form-2 sample as its bytes: no INFO map to build and write as JSON (docs/benchmarks.md, "Ingest per report form").
      for (const i of instances)
        this.upsertInstance.run(i.id, i.host, i.address, i.receivedAt, storedSampleBytes(i.sample) ?? JSON.stringify(i.sample));
      for (const id of removedInstances) this.deleteInstance.run(id);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** What another collector changed since a cursor (rows this collector wrote are left out). */
export interface FleetChanges {
  hosts: HostRecord[];
  instances: InstanceRecord[];
  cursor: number;
}

/**
 * Hosts and their latest samples: the embedded SQLite file (one collector) or PostgreSQL
 * (a cluster: store-pg.ts). Async so that both fit; the SQLite one answers at once.
 */
export interface FleetStore {
  readonly kind: 'sqlite' | 'postgres';
  loadHosts(): Promise<HostRecord[]>;
  loadInstances(): Promise<InstanceRecord[]>;
  /** Changed hosts and instances, and vanished instances, in one transaction. */
  saveState(hosts: HostRecord[], instances: InstanceRecord[], removedInstances: string[]): Promise<void>;
  /** Rows written by other collectors after `cursor` (0: everything). */
  changedSince(cursor: number): Promise<FleetChanges>;
}

/** The embedded store behind the FleetStore interface (one writer: nothing changes behind its back). */
export class SqliteFleetStore implements FleetStore {
  readonly kind = 'sqlite';
  constructor(readonly store: Store) {}
  async loadHosts(): Promise<HostRecord[]> {
    return this.store.loadHosts();
  }
  async loadInstances(): Promise<InstanceRecord[]> {
    return this.store.loadInstances();
  }
  async saveState(hosts: HostRecord[], instances: InstanceRecord[], removed: string[]): Promise<void> {
    this.store.saveState(hosts, instances, removed);
  }
  async changedSince(cursor: number): Promise<FleetChanges> {
    return { hosts: [], instances: [], cursor };
  }
}
