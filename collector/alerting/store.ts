// The alerting tables in the collector's SQLite file (the same connection as the fleet
// state): active alerts, alert history, silences, the notification log and the outbox.
// Every change that matters across a crash is committed before it takes effect outside
// (the nlog entry and the outbox rows of one flush are one transaction).
import type { Database, Statement } from '../sqlite.js';
import type { Ack, Alert, Labels, Matcher, Notification } from './types.js';

const DDL = `
CREATE TABLE IF NOT EXISTS alert_active (
  fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, state TEXT NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL,
  active_at INTEGER NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, last_true_at INTEGER NOT NULL,
  value TEXT, updated_at INTEGER NOT NULL, ack TEXT
);
CREATE TABLE IF NOT EXISTS alert_history (
  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, fingerprint TEXT NOT NULL, alertname TEXT NOT NULL, event TEXT NOT NULL,
  labels TEXT NOT NULL, value TEXT, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_history_at ON alert_history(at);
CREATE INDEX IF NOT EXISTS alert_history_fp ON alert_history(fingerprint, at);
CREATE TABLE IF NOT EXISTS alert_silences (
  id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL,
  created_by TEXT NOT NULL, comment TEXT NOT NULL, updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_nlog (
  group_key TEXT NOT NULL, receiver TEXT NOT NULL, firing TEXT NOT NULL, resolved TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (group_key, receiver)
);
CREATE TABLE IF NOT EXISTS alert_outbox (
  id INTEGER PRIMARY KEY, integration TEXT NOT NULL, created_at INTEGER NOT NULL, next_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL, notification TEXT NOT NULL, last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alert_outbox_due ON alert_outbox(integration, next_at);
CREATE TABLE IF NOT EXISTS alert_windows (
  rule TEXT NOT NULL, series TEXT NOT NULL, shape TEXT NOT NULL, labels TEXT NOT NULL, last_seen INTEGER NOT NULL,
  vals TEXT NOT NULL, PRIMARY KEY (rule, series)
);
`;

/** One fluctuation window as persisted: `shape` ties it to the rule's measurement/expr/func/points/offset. */
export interface WindowRow {
  rule: string;
  series: string;
  shape: string;
  labels: Labels;
  lastSeen: number;
  values: [number, number][];
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  updatedAt: number;
}

export interface NlogEntry {
  groupKey: string;
  receiver: string;
  firing: string[];
  resolved: string[];
  at: number;
}

export interface OutboxEntry {
  id: number;
  integration: string;
  createdAt: number;
  nextAt: number;
  attempts: number;
  notification: Notification;
  lastError: string;
}

export interface HistoryEntry {
  id: number;
  at: number;
  fingerprint: string;
  alertname: string;
  event: string;
  labels: Labels;
  value: number | string | null;
  detail: string;
}

export interface HistoryQuery {
  fingerprint?: string;
  alertname?: string;
  from?: number;
  to?: number;
  limit: number;
}

interface AlertRow {
  fingerprint: string;
  rule: string;
  state: string;
  labels: string;
  annotations: string;
  active_at: number;
  starts_at: number;
  ends_at: number;
  last_true_at: number;
  value: string | null;
  updated_at: number;
  ack: string | null;
}

export interface StoredAlert extends Alert {
  lastTrueAt: number;
}

const json = (v: unknown): string => JSON.stringify(v);

/** Told of every alert and silence write (a cluster shares them); not called for writes of merged rows. */
export interface WriteObserver {
  alert(fp: string): void;
  silence(s: Silence): void;
}

export class SqliteAlertingStore {
  private readonly s: Record<string, Statement>;
  observer: WriteObserver | undefined;
  /** Set while rows from another collector are applied (they are not echoed back). */
  private merging = false;

  /** Applies rows that came from another collector without telling the observer. */
  merge<T>(fn: () => T): T {
    this.merging = true;
    try {
      return fn();
    } finally {
      this.merging = false;
    }
  }

  constructor(readonly db: Database) {
    db.exec(DDL);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      upsertAlert: p(`INSERT OR REPLACE INTO alert_active (fingerprint, rule, state, labels, annotations, active_at, starts_at, ends_at,
        last_true_at, value, updated_at, ack) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`),
      deleteAlert: p('DELETE FROM alert_active WHERE fingerprint = ?'),
      history: p('INSERT INTO alert_history (at, fingerprint, alertname, event, labels, value, detail) VALUES (?,?,?,?,?,?,?)'),
      pruneHistory: p('DELETE FROM alert_history WHERE at < ?'),
      upsertSilence: p(`INSERT OR REPLACE INTO alert_silences (id, matchers, starts_at, ends_at, created_by, comment, updated_at)
        VALUES (?,?,?,?,?,?,?)`),
      pruneSilences: p('DELETE FROM alert_silences WHERE ends_at < ?'),
      upsertNlog: p('INSERT OR REPLACE INTO alert_nlog (group_key, receiver, firing, resolved, at) VALUES (?,?,?,?,?)'),
      getNlog: p('SELECT * FROM alert_nlog WHERE group_key = ? AND receiver = ?'),
      pruneNlog: p('DELETE FROM alert_nlog WHERE at < ?'),
      enqueue: p('INSERT INTO alert_outbox (integration, created_at, next_at, attempts, notification) VALUES (?,?,?,0,?)'),
      due: p('SELECT * FROM alert_outbox WHERE integration = ? AND next_at <= ? ORDER BY id LIMIT ?'),
      nextDue: p('SELECT MIN(next_at) AS t FROM alert_outbox'),
      deleteOutbox: p('DELETE FROM alert_outbox WHERE id = ?'),
      retryOutbox: p('UPDATE alert_outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?'),
      upsertWindow: p('INSERT OR REPLACE INTO alert_windows (rule, series, shape, labels, last_seen, vals) VALUES (?,?,?,?,?,?)'),
      deleteWindow: p('DELETE FROM alert_windows WHERE rule = ? AND series = ?'),
    };
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // --- alerts ---
  loadAlerts(): StoredAlert[] {
    return this.db
      .prepare<AlertRow>('SELECT * FROM alert_active')
      .all()
      .map((r) => ({
        fingerprint: r.fingerprint,
        rule: r.rule,
        state: r.state as Alert['state'],
        labels: JSON.parse(r.labels) as Labels,
        annotations: JSON.parse(r.annotations) as Labels,
        activeAt: r.active_at,
        startsAt: r.starts_at,
        endsAt: r.ends_at,
        lastTrueAt: r.last_true_at,
        value: r.value === null ? null : (JSON.parse(r.value) as number | string),
        updatedAt: r.updated_at,
        ack: r.ack === null ? null : (JSON.parse(r.ack) as Ack),
      }));
  }

  saveAlert(a: StoredAlert): void {
    this.s.upsertAlert!.run(
      a.fingerprint,
      a.rule,
      a.state,
      json(a.labels),
      json(a.annotations),
      a.activeAt,
      a.startsAt,
      a.endsAt,
      a.lastTrueAt,
      a.value === null ? null : json(a.value),
      a.updatedAt,
      a.ack ? json(a.ack) : null,
    );
    if (!this.merging) this.observer?.alert(a.fingerprint);
  }

  deleteAlert(fp: string): void {
    this.s.deleteAlert!.run(fp);
    if (!this.merging) this.observer?.alert(fp);
  }

  // --- history ---
  addHistory(at: number, a: { fingerprint: string; labels: Labels; value?: number | string | null }, event: string, detail = ''): void {
    this.s.history!.run(
      at,
      a.fingerprint,
      a.labels.alertname ?? '',
      event,
      json(a.labels),
      a.value === undefined || a.value === null ? null : json(a.value),
      detail,
    );
  }

  queryHistory(q: HistoryQuery): HistoryEntry[] {
    let sql = 'SELECT * FROM alert_history WHERE 1=1';
    const args: unknown[] = [];
    if (q.fingerprint) {
      sql += ' AND fingerprint = ?';
      args.push(q.fingerprint);
    }
    if (q.alertname) {
      sql += ' AND alertname = ?';
      args.push(q.alertname);
    }
    if (q.from !== undefined) {
      sql += ' AND at >= ?';
      args.push(q.from);
    }
    if (q.to !== undefined) {
      sql += ' AND at <= ?';
      args.push(q.to);
    }
    sql += ' ORDER BY id DESC LIMIT ?';
    args.push(q.limit);
    type Row = {
      id: number;
      at: number;
      fingerprint: string;
      alertname: string;
      event: string;
      labels: string;
      value: string | null;
      detail: string;
    };
    return this.db
      .prepare<Row>(sql)
      .all(...args)
      .map((r) => ({
        id: r.id,
        at: r.at,
        fingerprint: r.fingerprint,
        alertname: r.alertname,
        event: r.event,
        labels: JSON.parse(r.labels) as Labels,
        value: r.value === null ? null : (JSON.parse(r.value) as number | string),
        detail: r.detail,
      }));
  }

  // --- silences ---
  loadSilences(): Silence[] {
    type Row = {
      id: string;
      matchers: string;
      starts_at: number;
      ends_at: number;
      created_by: string;
      comment: string;
      updated_at: number;
    };
    return this.db
      .prepare<Row>('SELECT * FROM alert_silences')
      .all()
      .map((r) => ({
        id: r.id,
        matchers: JSON.parse(r.matchers) as Matcher[],
        startsAt: r.starts_at,
        endsAt: r.ends_at,
        createdBy: r.created_by,
        comment: r.comment,
        updatedAt: r.updated_at,
      }));
  }

  saveSilence(s: Silence): void {
    this.s.upsertSilence!.run(s.id, json(s.matchers), s.startsAt, s.endsAt, s.createdBy, s.comment, s.updatedAt);
    if (!this.merging) this.observer?.silence(s);
  }

  // --- notification log ---
  nlog(groupKey: string, receiver: string): NlogEntry | undefined {
    type Row = { group_key: string; receiver: string; firing: string; resolved: string; at: number };
    const r = this.s.getNlog!.get(groupKey, receiver) as Row | undefined;
    return (
      r && {
        groupKey: r.group_key,
        receiver: r.receiver,
        firing: JSON.parse(r.firing) as string[],
        resolved: JSON.parse(r.resolved) as string[],
        at: r.at,
      }
    );
  }

  setNlog(e: NlogEntry): void {
    this.s.upsertNlog!.run(e.groupKey, e.receiver, json(e.firing), json(e.resolved), e.at);
  }

  // --- outbox ---
  enqueue(integration: string, n: Notification, at: number): void {
    this.s.enqueue!.run(integration, at, at, json(n));
  }

  due(integration: string, now: number, limit = 100): OutboxEntry[] {
    type Row = {
      id: number;
      integration: string;
      created_at: number;
      next_at: number;
      attempts: number;
      notification: string;
      last_error: string;
    };
    return (this.s.due!.all(integration, now, limit) as Row[]).map((r) => ({
      id: r.id,
      integration: r.integration,
      createdAt: r.created_at,
      nextAt: r.next_at,
      attempts: r.attempts,
      notification: JSON.parse(r.notification) as Notification,
      lastError: r.last_error,
    }));
  }

  nextDueAt(): number | undefined {
    const r = this.s.nextDue!.get() as { t: number | null } | undefined;
    return r?.t ?? undefined;
  }

  outboxLength(): number {
    return this.db.prepare<{ n: number }>('SELECT COUNT(*) AS n FROM alert_outbox').get()!.n;
  }

  deleteOutbox(ids: number[]): void {
    this.transaction(() => {
      for (const id of ids) this.s.deleteOutbox!.run(id);
    });
  }

  retryOutbox(ids: number[], nextAt: number, error: string): void {
    this.transaction(() => {
      for (const id of ids) this.s.retryOutbox!.run(nextAt, error, id);
    });
  }

  // --- fluctuation windows ---
  loadWindows(): WindowRow[] {
    type Row = { rule: string; series: string; shape: string; labels: string; last_seen: number; vals: string };
    return this.db
      .prepare<Row>('SELECT * FROM alert_windows')
      .all()
      .map((r) => ({
        rule: r.rule,
        series: r.series,
        shape: r.shape,
        labels: JSON.parse(r.labels) as Labels,
        lastSeen: r.last_seen,
        values: JSON.parse(r.vals) as [number, number][],
      }));
  }

  saveWindow(w: WindowRow): void {
    this.s.upsertWindow!.run(w.rule, w.series, w.shape, json(w.labels), w.lastSeen, json(w.values));
  }

  deleteWindow(rule: string, series: string): void {
    this.s.deleteWindow!.run(rule, series);
  }

  /** Keeps the windows of these rules only, and at most `max` series (the most recently seen). */
  pruneWindows(rules: string[], max: number): void {
    this.db.prepare(`DELETE FROM alert_windows WHERE rule NOT IN (SELECT value FROM json_each(?))`).run(json(rules));
    this.db
      .prepare(`DELETE FROM alert_windows WHERE rowid IN (SELECT rowid FROM alert_windows ORDER BY last_seen DESC LIMIT -1 OFFSET ?)`)
      .run(max);
  }

  windowCount(): number {
    return this.db.prepare<{ n: number }>('SELECT COUNT(*) AS n FROM alert_windows').get()!.n;
  }

  /** Drops old history, long-expired silences and stale nlog entries. */
  prune(now: number, historyRetentionMs: number, nlogRetentionMs: number): void {
    this.s.pruneHistory!.run(now - historyRetentionMs);
    this.s.pruneSilences!.run(now - historyRetentionMs);
    this.s.pruneNlog!.run(now - nlogRetentionMs);
  }
}

/** One notification queued for one integration. */
export interface Queued {
  integration: string;
  notification: Notification;
}

/** Another collector's alert changes since a cursor (acks are part of an alert). */
export interface AlertChanges {
  alerts: StoredAlert[];
  deleted: string[];
  silences: Silence[];
  cursor: number;
}

/**
 * What collectors share of the alerting state: alerts (with their acks), silences, the
 * notification log and the outbox. The embedded single-node store (sqliteAlertingStore) and
 * PostgreSQL (store-pg.ts) implement it. `epoch` is the leader's (0 on a single node): a claim
 * of the outbox under an epoch that is no longer the leader's takes nothing.
 */
export interface AlertingStore {
  readonly kind: 'sqlite' | 'postgres';
  loadAlerts(): Promise<StoredAlert[]>;
  /** Upserts `alerts` and marks `deleted` gone, written as `writer`. */
  saveAlerts(alerts: StoredAlert[], deleted: string[]): Promise<void>;
  loadSilences(): Promise<Silence[]>;
  saveSilence(s: Silence): Promise<void>;
  /** Rows other collectors wrote after `cursor`. */
  changedSince(cursor: number): Promise<AlertChanges>;
  nlog(groupKey: string, receiver: string): Promise<NlogEntry | undefined>;
  /** The nlog entry and the notifications it decided, in one transaction. */
  notify(entry: NlogEntry, queued: Queued[], at: number): Promise<void>;
  /** Due outbox rows of `integration`, claimed for the leader of `epoch`. */
  claimDue(integration: string, now: number, epoch: number, limit?: number): Promise<OutboxEntry[]>;
  nextDueAt(): Promise<number | undefined>;
  deleteOutbox(ids: number[]): Promise<void>;
  retryOutbox(ids: number[], nextAt: number, error: string): Promise<void>;
  /** Gives claimed rows back unsent (claimable again at once). */
  releaseOutbox(ids: number[]): Promise<void>;
  outboxLength(): Promise<number>;
  prune(now: number, nlogRetentionMs: number): Promise<void>;
}

/** The embedded store behind the AlertingStore interface (one collector: no epochs, no other writers). */
export function sqliteAlertingStore(s: SqliteAlertingStore): AlertingStore {
  return {
    kind: 'sqlite',
    loadAlerts: async () => s.loadAlerts(),
    saveAlerts: async (alerts, deleted) =>
      s.transaction(() => {
        for (const a of alerts) s.saveAlert(a);
        for (const fp of deleted) s.deleteAlert(fp);
      }),
    loadSilences: async () => s.loadSilences(),
    saveSilence: async (x) => s.saveSilence(x),
    changedSince: async (cursor) => ({ alerts: [], deleted: [], silences: [], cursor }),
    nlog: async (g, r) => s.nlog(g, r),
    notify: async (entry, queued, at) =>
      s.transaction(() => {
        s.setNlog(entry);
        for (const q of queued) s.enqueue(q.integration, q.notification, at);
      }),
    claimDue: async (integration, now, _epoch, limit) => s.due(integration, now, limit),
    nextDueAt: async () => s.nextDueAt(),
    deleteOutbox: async (ids) => s.deleteOutbox(ids),
    retryOutbox: async (ids, nextAt, error) => s.retryOutbox(ids, nextAt, error),
    releaseOutbox: async () => undefined,
    outboxLength: async () => s.outboxLength(),
    prune: async (now, nlogRetentionMs) => s.prune(now, Number.MAX_SAFE_INTEGER, nlogRetentionMs),
  };
}
