// The alerting engine: evaluator → alert table → dispatcher → outbox, all state in the
// collector's SQLite file. Fed with every point the collector accepts; a timer drives
// `for` durations, absence, event auto-resolve, and the batched writes.
import type { Logger } from '../../common/index.js';
import { batchRulePoints, type Batch } from '../batch.js';
import type { Point } from '../points.js';
import type { Store } from '../store.js';
import { AlertTable } from './alerts.js';
import type { AlertingConfig } from './config.js';
import { Dispatcher } from './dispatch/index.js';
import { compileInhibitRules, Inhibitor } from './inhibit/index.js';
import { Outbox } from './nlog/index.js';
import { Evaluator, loadRules, ruleView, RuleError, type Rule } from './rules/index.js';
import { Silences } from './silences/index.js';
import { SqliteAlertingStore, sqliteAlertingStore, type AlertingStore, type HistoryQuery, type StoredAlert } from './store.js';
import type { Ack } from './types.js';

const NLOG_RETENTION_MS = 5 * 86_400_000;
const PRUNE_EVERY_MS = 10 * 60_000;
/** At most this many fluctuation windows are kept in the store (the most recently seen win). */
export const MAX_STORED_WINDOWS = 20_000;

export interface ReloadResult {
  ok: boolean;
  rules: number;
  error?: string;
}

/** A cluster member: the shared store for the nlog and outbox, and whether (and under which epoch) it leads. */
export interface AlertingCluster {
  store: AlertingStore;
  active(): boolean;
  epoch(): number;
}

export class Alerting {
  readonly store: SqliteAlertingStore;
  /** Where the nlog and the outbox live: the local file, or the cluster's PostgreSQL. */
  readonly shared: AlertingStore;
  readonly alerts: AlertTable;
  readonly silences: Silences;
  readonly evaluator: Evaluator;
  readonly dispatcher: Dispatcher;
  readonly outbox: Outbox;
  private inhibitor: Inhibitor;
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  /** Fluctuation windows brought back from the store at startup. */
  readonly restoredWindows: number;
  lastReload: { at: number; ok: boolean; error?: string } = { at: Date.now(), ok: true };

  /** Throws RuleError when the initial rule set is bad (the caller turns it into a config error). */
  constructor(
    store: Store,
    readonly config: AlertingConfig,
    private readonly logger: Logger,
    readonly cluster?: AlertingCluster,
  ) {
    this.store = new SqliteAlertingStore(store.db);
    this.shared = cluster?.store ?? sqliteAlertingStore(this.store);
    const rules = loadRules(config);
    this.alerts = new AlertTable(this.store);
    this.silences = new Silences(this.store);
    this.inhibitor = new Inhibitor(compileInhibitRules(config.inhibitRules, 'alerting.inhibitRules'));
    this.evaluator = new Evaluator(this.alerts, rules);
    this.store.pruneWindows(this.fluctuationRules(), MAX_STORED_WINDOWS);
    this.restoredWindows = this.evaluator.restoreWindows(this.store.loadWindows());
    const integrations = [...config.receivers.values()].flat();
    this.dropOrphanOutbox(new Set(integrations.map((i) => i.name)));
    this.outbox = new Outbox(this.shared, this.store, integrations, { maxRetryAgeMs: config.delivery.maxRetryAgeMs }, logger, cluster);
    this.dispatcher = new Dispatcher(config.route, config.receivers, {
      alerts: this.alerts,
      silences: this.silences,
      inhibitor: () => this.inhibitor,
      store: this.shared,
      outbox: this.outbox,
      externalUrl: config.externalUrl,
      logger,
      active: cluster ? () => cluster.active() : undefined,
    });
    this.alerts.listener = { changed: (a, now) => this.dispatcher.add(a, now) };
  }

  start(): void {
    const now = Date.now();
    this.alerts.resolveOrphans(this.evaluator.rules, now);
    this.dispatcher.restore(now);
    this.outbox.start();
    this.timer = setInterval(() => this.tick(), this.config.evaluationIntervalMs);
    this.timer.unref();
    this.logger.info(
      {
        rules: this.evaluator.rules.size,
        windows: this.restoredWindows,
        active: this.alerts.all().length,
        outbox: this.store.outboxLength(),
      },
      'alerting started',
    );
  }

  /** Every accepted point (reports, collector events) passes through here. Never throws. */
  onPoints(points: Point[]): void {
    this.onBatch(points);
  }

  /** A batch the sink took: the rules read the points of the measurements and fields they name. */
  onBatch(batch: Batch): void {
    try {
      this.evaluator.onPoints(batchRulePoints(batch, this.evaluator.need));
    } catch (err) {
      this.logger.error({ error: (err as Error).message, stack: (err as Error).stack }, 'alert evaluation failed');
    }
  }

  tick(now = Date.now()): void {
    try {
      this.evaluator.tick(now);
      this.alerts.flush();
      this.flushWindows();
      if (now - this.lastPrune > PRUNE_EVERY_MS) {
        this.lastPrune = now;
        this.store.prune(now, this.config.historyRetentionMs, NLOG_RETENTION_MS);
        if (this.cluster?.active())
          this.shared
            .prune(now, NLOG_RETENTION_MS)
            .catch((err: unknown) => this.logger.warn({ error: (err as Error).message }, 'shared alerting prune failed'));
        this.silences.prune(now - this.config.historyRetentionMs);
        this.store.pruneWindows(this.fluctuationRules(), MAX_STORED_WINDOWS);
      }
    } catch (err) {
      this.logger.error({ error: (err as Error).message }, 'alerting timer failed');
    }
  }

  /** Re-reads the rule files; a bad set is refused and the running one kept. */
  reload(): ReloadResult {
    const now = Date.now();
    let rules: Rule[];
    try {
      rules = loadRules(this.config);
    } catch (err) {
      const error = err instanceof RuleError || (err as Error).name === 'ConfigError' ? (err as Error).message : String(err);
      this.lastReload = { at: now, ok: false, error };
      this.logger.error({ error }, 'rules reload refused; the previous rules keep running');
      return { ok: false, rules: this.evaluator.rules.size, error };
    }
    this.evaluator.setRules(rules);
    this.flushWindows();
    this.store.pruneWindows(this.fluctuationRules(), MAX_STORED_WINDOWS);
    this.alerts.resolveOrphans(this.evaluator.rules, now);
    this.lastReload = { at: now, ok: true };
    this.logger.info({ rules: rules.length }, 'rules reloaded');
    return { ok: true, rules: rules.length };
  }

  ack(fp: string, ack: Omit<Ack, 'at'>): StoredAlert | 'not found' | 'not firing' {
    const a = this.alerts.get(fp);
    if (!a) return 'not found';
    if (a.state !== 'firing') return 'not firing';
    this.alerts.ack(a, { ...ack, at: Date.now() }, Date.now());
    return a;
  }

  history(q: HistoryQuery) {
    return this.store.queryHistory(q);
  }

  alertView(a: StoredAlert, now = Date.now()): Record<string, unknown> {
    const mute = this.dispatcher.muteState(a, now);
    const iso = (t: number) => (t ? new Date(t).toISOString() : null);
    return {
      id: a.fingerprint,
      fingerprint: a.fingerprint,
      name: a.labels.alertname,
      rule: a.rule,
      state: a.state,
      labels: a.labels,
      annotations: a.annotations,
      value: a.value,
      activeAt: iso(a.activeAt),
      startsAt: iso(a.startsAt),
      endsAt: iso(a.endsAt),
      updatedAt: iso(a.updatedAt),
      ack: a.ack && { ...a.ack, at: iso(a.ack.at) },
      acknowledged: a.ack !== null,
      status: { state: mute.silencedBy.length || mute.inhibitedBy.length ? 'suppressed' : 'active', ...mute },
    };
  }

  rulesView(): Record<string, unknown>[] {
    const active = this.alerts.all();
    return [...this.evaluator.rules.values()].map((r) => {
      const mine = active.filter((a) => a.rule === r.name);
      const state = mine.some((a) => a.state === 'firing') ? 'firing' : mine.some((a) => a.state === 'pending') ? 'pending' : 'inactive';
      const last = this.evaluator.lastEvalAt(r.name);
      return {
        ...ruleView(r),
        state,
        firing: mine.filter((a) => a.state === 'firing').length,
        pending: mine.filter((a) => a.state === 'pending').length,
        lastEvaluation: last ? new Date(last).toISOString() : null,
        health: 'ok',
      };
    });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.dispatcher.close();
    await this.outbox.close();
    this.alerts.flush();
    this.flushWindows();
  }

  private fluctuationRules(): string[] {
    return [...this.evaluator.rules.values()].filter((r) => r.kind === 'fluctuation').map((r) => r.name);
  }

  /** Writes the fluctuation windows that changed since the last tick (one transaction). */
  private flushWindows(): void {
    const changes = this.evaluator.takeWindowChanges();
    if (!changes.length) return;
    this.store.transaction(() => {
      for (const c of changes) {
        if (c.values) this.store.saveWindow({ ...c, values: c.values });
        else this.store.deleteWindow(c.rule, c.series);
      }
    });
  }

  private dropOrphanOutbox(names: Set<string>): void {
    const rows = this.store.db
      .prepare<{ integration: string; n: number }>('SELECT integration, COUNT(*) AS n FROM alert_outbox GROUP BY integration')
      .all();
    for (const r of rows) {
      if (names.has(r.integration)) continue;
      this.logger.warn(
        { integration: r.integration, notifications: r.n },
        'outbox holds notifications for an integration no longer configured: dropped',
      );
      this.store.db.prepare('DELETE FROM alert_outbox WHERE integration = ?').run(r.integration);
    }
  }
}
