// The shared alerting state on the cluster's PostgreSQL (collector/pg.ts): alerts (acks inside),
// silences, the notification log and the outbox. The outbox is claimed only while `epoch` is the
// leader epoch recorded in cluster_leader (the leader writes it on election), so a deposed leader
// that has not noticed yet claims nothing: no page is sent twice by two leaders.
import type { PgPool } from '../pg.js';
import { withTransaction } from '../pg.js';
import type { AlertChanges, AlertingStore, NlogEntry, OutboxEntry, Queued, Silence, StoredAlert } from './store.js';
import type { Notification } from './types.js';

/** How long a claimed outbox row stays with its claimer before the same leader may take it again. */
const CLAIM_MS = 60_000;

export class PgAlertingStore implements AlertingStore {
  readonly kind = 'postgres';
  private readonly lagging: number[] = [0, 0];

  constructor(
    private readonly pool: PgPool,
    readonly writer: string,
  ) {}

  async loadAlerts(): Promise<StoredAlert[]> {
    const r = await this.pool.query<{ record: string }>('SELECT record FROM alert_active WHERE NOT deleted');
    return r.rows.map((x) => JSON.parse(x.record) as StoredAlert);
  }

  async saveAlerts(alerts: StoredAlert[], deleted: string[]): Promise<void> {
    if (!alerts.length && !deleted.length) return;
    const fps = [...alerts.map((a) => a.fingerprint), ...deleted];
    const records = [...alerts.map((a) => JSON.stringify(a)), ...deleted.map(() => '{}')];
    const gone = [...alerts.map(() => false), ...deleted.map(() => true)];
    const at = [...alerts.map((a) => a.updatedAt), ...deleted.map(() => Date.now())];
    await this.pool.query(
      `INSERT INTO alert_active (fingerprint, writer, version, deleted, updated_at, record)
      SELECT fp, $1, nextval('rf_version'), gone, at, rec FROM unnest($2::text[], $3::bool[], $4::bigint[], $5::text[]) AS t(fp, gone, at, rec)
      ON CONFLICT (fingerprint) DO UPDATE SET writer = EXCLUDED.writer, version = EXCLUDED.version, deleted = EXCLUDED.deleted,
        updated_at = EXCLUDED.updated_at, record = EXCLUDED.record`,
      [this.writer, fps, gone, at, records],
    );
  }

  async loadSilences(): Promise<Silence[]> {
    const r = await this.pool.query<{ record: string }>('SELECT record FROM alert_silences');
    return r.rows.map((x) => JSON.parse(x.record) as Silence);
  }

  async saveSilence(s: Silence): Promise<void> {
    await this.pool.query(
      `INSERT INTO alert_silences (id, version, ends_at, record) VALUES ($1, nextval('rf_version'), $2, $3)
      ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, ends_at = EXCLUDED.ends_at, record = EXCLUDED.record`,
      [s.id, s.endsAt, JSON.stringify(s)],
    );
  }

  async changedSince(cursor: number): Promise<AlertChanges> {
    const from = Math.min(cursor, this.lagging[0]!);
    const [a, s, v] = await Promise.all([
      this.pool.query<{ fingerprint: string; deleted: boolean; record: string }>(
        'SELECT fingerprint, deleted, record FROM alert_active WHERE version > $1 AND writer <> $2 ORDER BY version',
        [from, this.writer],
      ),
      this.pool.query<{ record: string }>('SELECT record FROM alert_silences WHERE version > $1', [from]),
      this.pool.query<{ v: number }>('SELECT last_value AS v FROM rf_version'),
    ]);
    this.lagging.shift();
    this.lagging.push(cursor);
    return {
      alerts: a.rows.filter((x) => !x.deleted).map((x) => JSON.parse(x.record) as StoredAlert),
      deleted: a.rows.filter((x) => x.deleted).map((x) => x.fingerprint),
      silences: s.rows.map((x) => JSON.parse(x.record) as Silence),
      cursor: Math.max(cursor, v.rows[0]!.v),
    };
  }

  async nlog(groupKey: string, receiver: string): Promise<NlogEntry | undefined> {
    const r = await this.pool.query<{ firing: string; resolved: string; at: number }>(
      'SELECT firing, resolved, at FROM alert_nlog WHERE group_key = $1 AND receiver = $2',
      [groupKey, receiver],
    );
    const x = r.rows[0];
    return x && { groupKey, receiver, firing: JSON.parse(x.firing) as string[], resolved: JSON.parse(x.resolved) as string[], at: x.at };
  }

  async notify(e: NlogEntry, queued: Queued[], at: number): Promise<void> {
    await withTransaction(this.pool, async (c) => {
      await c.query(
        `INSERT INTO alert_nlog (group_key, receiver, firing, resolved, at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (group_key, receiver) DO UPDATE SET firing = EXCLUDED.firing, resolved = EXCLUDED.resolved, at = EXCLUDED.at`,
        [e.groupKey, e.receiver, JSON.stringify(e.firing), JSON.stringify(e.resolved), e.at],
      );
      for (const q of queued) {
        await c.query('INSERT INTO alert_outbox (integration, created_at, next_at, notification) VALUES ($1, $2, $2, $3)', [
          q.integration,
          at,
          JSON.stringify(q.notification),
        ]);
      }
    });
  }

  async claimDue(integration: string, now: number, epoch: number, limit = 100): Promise<OutboxEntry[]> {
    type Row = {
      id: number;
      integration: string;
      created_at: number;
      next_at: number;
      attempts: number;
      notification: string;
      last_error: string;
    };
    const r = await this.pool.query<Row>(
      `UPDATE alert_outbox SET claimed_epoch = $3, claimed_until = $2 + $5
      WHERE id IN (
        SELECT id FROM alert_outbox WHERE integration = $1 AND next_at <= $2 AND (claimed_epoch < $3 OR claimed_until <= $2)
        ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
      AND (SELECT epoch FROM cluster_leader WHERE id = 1) = $3
      RETURNING id, integration, created_at, next_at, attempts, notification, last_error`,
      [integration, now, epoch, limit, CLAIM_MS],
    );
    return r.rows
      .sort((a, b) => a.id - b.id)
      .map((x) => ({
        id: x.id,
        integration: x.integration,
        createdAt: x.created_at,
        nextAt: x.next_at,
        attempts: x.attempts,
        notification: JSON.parse(x.notification) as Notification,
        lastError: x.last_error,
      }));
  }

  async nextDueAt(): Promise<number | undefined> {
    const r = await this.pool.query<{ t: number | null }>('SELECT MIN(GREATEST(next_at, claimed_until)) AS t FROM alert_outbox');
    return r.rows[0]?.t ?? undefined;
  }

  async deleteOutbox(ids: number[]): Promise<void> {
    await this.pool.query('DELETE FROM alert_outbox WHERE id = ANY($1::bigint[])', [ids]);
  }

  async retryOutbox(ids: number[], nextAt: number, error: string): Promise<void> {
    await this.pool.query(
      'UPDATE alert_outbox SET attempts = attempts + 1, next_at = $1, last_error = $2, claimed_until = 0 WHERE id = ANY($3::bigint[])',
      [nextAt, error, ids],
    );
  }

  async releaseOutbox(ids: number[]): Promise<void> {
    await this.pool.query('UPDATE alert_outbox SET claimed_until = 0 WHERE id = ANY($1::bigint[])', [ids]);
  }

  async outboxLength(): Promise<number> {
    return (await this.pool.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM alert_outbox')).rows[0]!.n;
  }

  async prune(now: number, nlogRetentionMs: number): Promise<void> {
    await this.pool.query('DELETE FROM alert_nlog WHERE at < $1', [now - nlogRetentionMs]);
    await this.pool.query('DELETE FROM alert_active WHERE deleted AND updated_at < $1', [now - nlogRetentionMs]);
  }

  /** Records `epoch` as the leader's (only forward): claims under older epochs take nothing from here on. */
  async takeLeadership(epoch: number, holder: string, now: number): Promise<boolean> {
    const r = await this.pool.query('UPDATE cluster_leader SET epoch = $1, holder = $2, since = $3 WHERE id = 1 AND epoch < $1', [
      epoch,
      holder,
      now,
    ]);
    return r.rowCount === 1;
  }
}
