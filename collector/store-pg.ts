// Hosts and latest instance samples on the cluster's PostgreSQL (collector/pg.ts). Each collector
// writes the hosts connected to it (`writer`), every row stamped with the next `rf_version`; the
// others read what changed since their cursor. A version is taken before its transaction commits,
// so a reader re-reads one sync's worth behind its cursor (rows are applied idempotently).
import type { PgPool } from './pg.js';
import { withTransaction } from './pg.js';
import type { FleetChanges, FleetStore, HostRecord, InstanceRecord } from './store.js';
import type { RedisSample } from '../proto/index.js';

export class PgFleetStore implements FleetStore {
  readonly kind = 'postgres';
  private readonly lagging: number[] = [0, 0];

  constructor(
    private readonly pool: PgPool,
    readonly writer: string,
  ) {}

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
      if (hosts.length) {
        await c.query(
          `INSERT INTO fleet_hosts (id, writer, version, last_seen_at, record)
          SELECT id, $1, nextval('rf_version'), seen, rec FROM unnest($2::text[], $3::bigint[], $4::text[]) AS t(id, seen, rec)
          ON CONFLICT (id) DO UPDATE SET writer = EXCLUDED.writer, version = EXCLUDED.version, last_seen_at = EXCLUDED.last_seen_at, record = EXCLUDED.record`,
          [this.writer, hosts.map((h) => h.id), hosts.map((h) => h.lastSeenAt), hosts.map((h) => JSON.stringify(h))],
        );
      }
      if (instances.length) {
        await c.query(
          `INSERT INTO fleet_instances (id, host, address, writer, version, received_at, sample)
          SELECT id, host, address, $1, nextval('rf_version'), at, sample FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
            AS t(id, host, address, at, sample)
          ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, address = EXCLUDED.address, writer = EXCLUDED.writer, version = EXCLUDED.version,
            received_at = EXCLUDED.received_at, sample = EXCLUDED.sample`,
          [
            this.writer,
            instances.map((i) => i.id),
            instances.map((i) => i.host),
            instances.map((i) => i.address),
            instances.map((i) => i.receivedAt),
            instances.map((i) => JSON.stringify(i.sample)),
          ],
        );
      }
      if (removed.length) await c.query('DELETE FROM fleet_instances WHERE id = ANY($1::text[])', [removed]);
    });
  }

  async changedSince(cursor: number): Promise<FleetChanges> {
    // Re-read from the cursor of two reads ago: a version drawn before a slower transaction committed.
    const from = Math.min(cursor, this.lagging[0]!);
    const [h, i] = await Promise.all([
      this.pool.query<{ record: string; version: number }>('SELECT record, version FROM fleet_hosts WHERE version > $1 AND writer <> $2', [
        from,
        this.writer,
      ]),
      this.pool.query<InstanceRow & { version: number }>(
        'SELECT id, host, address, received_at, sample, version FROM fleet_instances WHERE version > $1 AND writer <> $2',
        [from, this.writer],
      ),
    ]);
    const max = (await this.pool.query<{ v: number }>('SELECT last_value AS v FROM rf_version')).rows[0]!.v;
    this.lagging.shift();
    this.lagging.push(cursor);
    return {
      hosts: h.rows.map((x) => JSON.parse(x.record) as HostRecord),
      instances: i.rows.map(instanceOf),
      cursor: Math.max(cursor, max),
    };
  }
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
