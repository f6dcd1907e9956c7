// Hosts and latest instance samples on the cluster's PostgreSQL (collector/pg.ts). Each collector
// writes the hosts connected to it (`writer`), every row stamped with the next `rf_version`; the
// others read what changed since their cursor. A version is taken before its transaction commits,
// so a reader re-reads one sync's worth behind its cursor (rows are applied idempotently).
import type { PgPool } from './pg.js';
import { withTransaction } from './pg.js';
import type { FleetChanges, FleetStore, HostRecord, InstanceRecord } from './store.js';
import { sampleInfo, type RedisSample } from '../proto/index.js';
import { mergeRecords } from '../common/index.js';
import { VIEW_INFO_FIELDS } from './views.js';

/**
 * What the other collectors need of a latest sample: the fleet view (views.ts) and placement read
 * the typed fields and a dozen INFO fields; the full INFO map and the command, latency, error and
 * keyspace tables go to the metrics sink, not to PostgreSQL (a tenth of the bytes per row, docs/scale-out.md).
 */
export function sharedSample(s: RedisSample): RedisSample {
  const info: RedisSample['info'] = {};
  for (const k of VIEW_INFO_FIELDS) {
    const v = sampleInfo(s, k);
    if (v !== undefined) info[k] = v;
  }
  return mergeRecords<RedisSample>(s, { info, keyspace: [], commandstats: [], latencystats: [], errorstats: [], slowlog: [] });
}

export interface PgFleetStoreOptions {
  /** Store whole samples, INFO and all (only the sharedstate benchmark's "before" row). */
  fullSamples?: boolean;
}

export class PgFleetStore implements FleetStore {
  readonly kind = 'postgres';
  private readonly lagging: number[] = [0, 0];
  /** Versions of the others' rows read in the re-read window (changedSince). */
  private readonly seenHosts = new Map<string, number>();
  private readonly seenInstances = new Map<string, number>();

  private readonly sample: (s: RedisSample) => RedisSample;

  constructor(
    private readonly pool: PgPool,
    readonly writer: string,
    opts: PgFleetStoreOptions = {},
  ) {
    this.sample = opts.fullSamples ? (s) => s : sharedSample;
  }

  async loadHosts(): Promise<HostRecord[]> {
    const r = await this.pool.query<{ record: string }>('SELECT record FROM fleet_hosts');
    return r.rows.map((x) => JSON.parse(x.record) as HostRecord);
  }

  async loadInstances(): Promise<InstanceRecord[]> {
    const r = await this.pool.query<InstanceRow>('SELECT id, host, address, received_at, sample FROM fleet_instances');
    return r.rows.map(instanceOf);
  }

  async saveState(hosts: HostRecord[], instances: InstanceRecord[], removed: string[]): Promise<void> {
    if (!hosts.length && !instances.length && !removed.length) return;
    await withTransaction(this.pool, async (c) => {
      // In slices: a member that many hosts connected to at once would otherwise send one statement of them all.
      for (const part of slices(hosts)) {
        await c.query(
          `INSERT INTO fleet_hosts (id, writer, version, last_seen_at, record)
          SELECT id, $1, nextval('rf_version'), seen, rec FROM unnest($2::text[], $3::bigint[], $4::text[]) AS t(id, seen, rec)
          ON CONFLICT (id) DO UPDATE SET writer = EXCLUDED.writer, version = EXCLUDED.version, last_seen_at = EXCLUDED.last_seen_at, record = EXCLUDED.record`,
          [this.writer, part.map((h) => h.id), part.map((h) => h.lastSeenAt), part.map((h) => JSON.stringify(h))],
        );
      }
      for (const part of slices(instances)) {
        await c.query(
          `INSERT INTO fleet_instances (id, host, address, writer, version, received_at, sample)
          SELECT id, host, address, $1, nextval('rf_version'), at, sample FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
            AS t(id, host, address, at, sample)
          ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, address = EXCLUDED.address, writer = EXCLUDED.writer, version = EXCLUDED.version,
            received_at = EXCLUDED.received_at, sample = EXCLUDED.sample`,
          [
            this.writer,
            part.map((i) => i.id),
            part.map((i) => i.host),
            part.map((i) => i.address),
            part.map((i) => i.receivedAt),
            part.map((i) => JSON.stringify(this.sample(i.sample))),
          ],
        );
      }
      if (removed.length) await c.query('DELETE FROM fleet_instances WHERE id = ANY($1::text[])', [removed]);
    });
  }

  async changedSince(cursor: number): Promise<FleetChanges> {
    // Re-read from the cursor of two reads ago: a version drawn before a slower transaction committed.
    // That window is checked by (id, version) only; rows are fetched whole when new to this reader.
    const from = Math.min(cursor, this.lagging[0]!);
    const [hosts, instances] = await Promise.all([
      this.read<{ record: string }>('fleet_hosts', 'record', from, cursor, this.seenHosts),
      this.read<InstanceRow>('fleet_instances', 'host, address, received_at, sample', from, cursor, this.seenInstances),
    ]);
    const max = (await this.pool.query<{ v: number }>('SELECT last_value AS v FROM rf_version')).rows[0]!.v;
    this.lagging.shift();
    this.lagging.push(cursor);
    return {
      hosts: hosts.map((x) => JSON.parse(x.record) as HostRecord),
      instances: instances.map(instanceOf),
      cursor: Math.max(cursor, max),
    };
  }

  /** The others' rows past `cursor`, and those in (from, cursor] this reader has not seen at that version. */
  private async read<T>(
    table: 'fleet_hosts' | 'fleet_instances',
    columns: string,
    from: number,
    cursor: number,
    seen: Map<string, number>,
  ): Promise<(T & { id: string; version: number })[]> {
    type Row = T & { id: string; version: number };
    const [fresh, window] = await Promise.all([
      this.pool.query<Row>(`SELECT id, version, ${columns} FROM ${table} WHERE version > $1 AND writer <> $2`, [cursor, this.writer]),
      from < cursor
        ? this.pool.query<{ id: string; version: string }>(
            `SELECT id, version FROM ${table} WHERE version > $1 AND version <= $2 AND writer <> $3`,
            [from, cursor, this.writer],
          )
        : undefined,
    ]);
    const missed = (window?.rows ?? []).filter((r) => seen.get(r.id) !== Number(r.version)).map((r) => r.id);
    const late = missed.length
      ? (
          await this.pool.query<Row>(`SELECT id, version, ${columns} FROM ${table} WHERE id = ANY($1::text[]) AND writer <> $2`, [
            missed,
            this.writer,
          ])
        ).rows
      : [];
    const rows = [...late, ...fresh.rows];
    for (const [id, v] of seen) if (v <= from) seen.delete(id);
    for (const r of rows) seen.set(r.id, Number(r.version));
    return rows;
  }
}

const SLICE = 2000;

function* slices<T>(rows: T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += SLICE) yield rows.slice(i, i + SLICE);
}

interface InstanceRow {
  id: string;
  host: string;
  address: string;
  received_at: number;
  sample: string;
}

function instanceOf(r: InstanceRow): InstanceRecord {
  return { id: r.id, host: r.host, address: r.address, receivedAt: r.received_at, sample: JSON.parse(r.sample) as RedisSample };
}
