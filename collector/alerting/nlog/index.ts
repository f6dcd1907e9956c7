// The notification log's decision (Alertmanager's dedup stage, plus acknowledgement) and
// the outbox: notifications are committed to the store together with the nlog entry, then
// delivered by a worker per integration with retries (5xx, 429, timeouts; backoff) and a
// per-channel token bucket; when the bucket is empty, queued notifications to a chat
// channel are folded into one digest instead of being dropped.
import type { Logger } from '../../../common/index.js';
import { commonLabels } from '../labels.js';
import type { Integration } from '../config.js';
import { DeliveryError } from '../notifiers/index.js';
import type { AlertingStore, SqliteAlertingStore, NlogEntry, OutboxEntry, Queued } from '../store.js';
import type { Notification } from '../types.js';

export type NotifyReason =
  'first notification' | 'new alerts added' | 'all alerts resolved' | 'some alerts resolved' | 'repeat interval elapsed';

const subset = (a: Set<string>, b: Set<string>): boolean => {
  for (const x of a) if (!b.has(x)) return false;
  return true;
};

/**
 * Alertmanager's dedup rule (notify/dedup_stage.go) given the last entry for (group, receiver).
 * `unacked` are the firing fingerprints nobody acknowledged: only they make a repeat.
 */
export function notifyReason(
  entry: NlogEntry | undefined,
  firing: Set<string>,
  resolved: Set<string>,
  unacked: Set<string>,
  sendResolved: boolean,
  repeatIntervalMs: number,
  now: number,
): NotifyReason | undefined {
  if ((!entry || entry.firing.length === 0) && firing.size > 0) return 'first notification';
  if (!entry) return undefined;
  const lastFiring = new Set(entry.firing);
  if (!subset(firing, lastFiring)) return 'new alerts added';
  if (firing.size === 0) return lastFiring.size > 0 ? 'all alerts resolved' : undefined;
  if (sendResolved && !subset(new Set([...resolved].filter((f) => lastFiring.has(f))), new Set(entry.resolved)))
    return 'some alerts resolved';
  if (now - entry.at >= repeatIntervalMs && unacked.size > 0) return 'repeat interval elapsed';
  return undefined;
}

class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly perMinute: number,
    now: number,
  ) {
    this.tokens = Math.max(1, Math.min(perMinute, 5));
    this.last = now;
  }
  private refill(now: number): void {
    const cap = Math.max(1, Math.min(this.perMinute, 5));
    this.tokens = Math.min(cap, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
  }
  available(now: number): number {
    this.refill(now);
    return Math.floor(this.tokens);
  }
  take(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }
  /** ms until one token is there. */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 60_000) / this.perMinute);
  }
}

/** Several notifications to one channel as one message (a digest). */
export function mergeNotifications(ns: Notification[]): Notification {
  const alerts = ns.flatMap((n) => n.alerts);
  return {
    receiver: ns[0]!.receiver,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    groupKey: `digest:${ns.map((n) => n.groupKey).join(';')}`.slice(0, 1000),
    groupLabels: {},
    commonLabels: commonLabels(alerts.map((a) => a.labels)),
    commonAnnotations: {},
    externalURL: ns[0]!.externalURL,
    reason: 'digest',
    truncatedAlerts: ns.reduce((s, n) => s + n.truncatedAlerts, 0),
    alerts,
    digestOf: ns.reduce((s, n) => s + (n.digestOf ?? 1), 0),
  };
}

export interface DeliveryStats {
  delivered: number;
  failed: number;
  retries: number;
  digests: number;
}

export class Outbox {
  private integrations = new Map<string, Integration>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly busy = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly stats: DeliveryStats = { delivered: 0, failed: 0, retries: 0, digests: 0 };
  private readonly inflight = new Set<Promise<void>>();

  /**
   * `store` holds the outbox (the local file, or PostgreSQL in a cluster), `local` the alert history.
   * In a cluster only the leader delivers (`leader.active()`), claiming rows under its epoch.
   */
  constructor(
    private readonly store: AlertingStore,
    private readonly local: SqliteAlertingStore,
    integrations: Integration[],
    private readonly opts: { maxRetryAgeMs: number },
    private readonly logger: Logger,
    private readonly leader: { active(): boolean; epoch(): number } = { active: () => true, epoch: () => 0 },
  ) {
    for (const i of integrations) this.integrations.set(i.name, i);
  }

  /** `n` for every integration of its receiver, to commit with the nlog entry (AlertingStore.notify). */
  queue(integrations: Integration[], n: Notification): Queued[] {
    const out: Queued[] = [];
    for (const i of integrations) {
      const msg = i.sendResolved ? n : { ...n, alerts: n.alerts.filter((a) => a.status === 'firing') };
      if (msg.alerts.length === 0) continue;
      out.push({ integration: i.name, notification: msg });
    }
    return out;
  }

  start(): void {
    this.kick(0);
  }

  /** Runs the worker after `ms` (sooner wins). */
  kick(ms = 0): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.work();
    }, ms);
    this.timer.unref();
  }

  async close(graceMs = 2000): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  private working = false;

  private work(): void {
    if (this.working) {
      this.kick(50);
      return;
    }
    this.working = true;
    this.workOnce()
      .catch((err: unknown) => {
        this.logger.error({ error: (err as Error).message }, 'outbox: reading the store failed; retrying');
        this.kick(1000);
      })
      .finally(() => {
        this.working = false;
      });
  }

  private async workOnce(): Promise<void> {
    // Not the leader (a cluster follower): only the leader delivers; look again later.
    if (!this.leader.active()) {
      this.kick(1000);
      return;
    }
    const now = Date.now();
    let nextIn = Infinity;
    for (const i of this.integrations.values()) {
      if (this.busy.has(i.name)) continue;
      let bucket = this.buckets.get(i.name);
      if (i.ratePerMinute && !bucket) this.buckets.set(i.name, (bucket = new TokenBucket(i.ratePerMinute, now)));
      if (bucket && bucket.available(now) < 1) {
        nextIn = Math.min(nextIn, bucket.waitMs(now));
        continue;
      }
      const due = await this.store.claimDue(i.name, now, this.leader.epoch(), bucket && i.mergeable ? 100 : 1);
      if (due.length === 0 || this.closed) continue;
      // A rate-limited chat channel with a backlog gets one digest; others get one message per notification, in order.
      const batch = bucket && i.mergeable && due.length > 1 && bucket.available(now) < due.length ? due : [due[0]!];
      // Claimed but not sent now: released at once for the next round.
      const rest = due.filter((e) => !batch.includes(e));
      if (rest.length) await this.store.releaseOutbox(rest.map((e) => e.id));
      bucket?.take(now);
      this.deliver(i, batch);
    }
    const dueAt = await this.store.nextDueAt();
    if (dueAt !== undefined) nextIn = Math.min(nextIn, Math.max(50, dueAt - Date.now()));
    if (nextIn !== Infinity) this.kick(nextIn);
  }

  private deliver(i: Integration, batch: OutboxEntry[]): void {
    this.busy.add(i.name);
    const n = batch.length > 1 ? mergeNotifications(batch.map((e) => e.notification)) : batch[0]!.notification;
    const id = `msg_${batch[0]!.id}_${batch.length}`;
    const p = i.notifier
      .send(n, { id, now: Date.now(), timeoutMs: i.timeoutMs })
      .then(
        async () => {
          await this.store.deleteOutbox(batch.map((e) => e.id));
          this.stats.delivered++;
          if (batch.length > 1) this.stats.digests++;
          this.logger.info(
            { integration: i.name, groupKey: n.groupKey, status: n.status, alerts: n.alerts.length, digestOf: n.digestOf },
            'notification delivered',
          );
          this.history(batch, 'delivered', i.name);
        },
        async (err: Error) => {
          const now = Date.now();
          const retryable = err instanceof DeliveryError ? err.retryable : true;
          const oldest = Math.min(...batch.map((e) => e.createdAt));
          if (retryable && now - oldest < this.opts.maxRetryAgeMs) {
            const attempts = Math.max(...batch.map((e) => e.attempts)) + 1;
            const backoff = Math.min(60_000, 500 * 2 ** Math.min(attempts - 1, 7));
            await this.store.retryOutbox(
              batch.map((e) => e.id),
              now + backoff,
              err.message,
            );
            this.stats.retries++;
            this.logger.warn({ integration: i.name, attempts, retryInMs: backoff, error: err.message }, 'notification failed; will retry');
          } else {
            await this.store.deleteOutbox(batch.map((e) => e.id));
            this.stats.failed++;
            this.logger.error({ integration: i.name, error: err.message, retryable }, 'notification failed; giving up');
            this.history(batch, 'delivery failed', `${i.name}: ${err.message}`);
          }
        },
      )
      .catch((err: unknown) => {
        this.logger.error({ integration: i.name, error: (err as Error).message }, 'outbox: recording a delivery failed');
      })
      .finally(() => {
        this.busy.delete(i.name);
        this.inflight.delete(p);
        this.kick(0);
      });
    this.inflight.add(p);
  }

  private history(batch: OutboxEntry[], event: string, detail: string): void {
    const at = Date.now();
    try {
      this.local.transaction(() => {
        for (const e of batch)
          for (const a of e.notification.alerts)
            this.local.addHistory(at, { fingerprint: a.fingerprint, labels: a.labels }, `${event} ${a.status}`, detail);
      });
    } catch (err) {
      this.logger.warn({ error: (err as Error).message }, 'alert history write failed');
    }
  }
}
