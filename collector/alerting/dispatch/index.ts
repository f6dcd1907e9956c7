// Routing and aggregation groups (Alertmanager's dispatcher): each firing or resolved
// alert enters the groups of the routes it matches; a new group flushes after
// group_wait, then every group_interval while it holds alerts. A flush drops muted
// (silenced, inhibited) alerts, asks the notification log whether to send, and commits
// the nlog entry with the outbox rows in one transaction.
import type { Logger } from '../../../common/index.js';
import type { AlertTable } from '../alerts.js';
import type { Integration, RouteConfig } from '../config.js';
import type { Inhibitor } from '../inhibit/index.js';
import { commonLabels, sortedLabelString } from '../labels.js';
import { notifyReason, type Outbox } from '../nlog/index.js';
import type { Silences } from '../silences/index.js';
import type { AlertingStore, StoredAlert } from '../store.js';
import type { Labels, Notification, NotifiedAlert } from '../types.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

interface Group {
  key: string;
  route: RouteConfig;
  labels: Labels;
  fingerprints: Set<string>;
  timer: NodeJS.Timeout | undefined;
  nextFlushAt: number;
}

/** The routes an alert goes to: first matching child (recursively) unless `continue`; else the route itself. */
export function matchRoutes(route: RouteConfig, labels: Labels): RouteConfig[] {
  if (!route.match(labels)) return [];
  const out: RouteConfig[] = [];
  for (const child of route.routes) {
    const m = matchRoutes(child, labels);
    if (m.length) {
      out.push(...m);
      if (!child.continue) break;
    }
  }
  return out.length ? out : [route];
}

export interface MuteState {
  silencedBy: string[];
  inhibitedBy: string[];
}

export class Dispatcher {
  private readonly groups = new Map<string, Group>();
  private closed = false;

  constructor(
    private route: RouteConfig,
    private receivers: Map<string, Integration[]>,
    private readonly deps: {
      alerts: AlertTable;
      silences: Silences;
      inhibitor: () => Inhibitor;
      store: AlertingStore;
      outbox: Outbox;
      externalUrl: string;
      logger: Logger;
      /** In a cluster, only the leader notifies; followers keep their groups ready for a takeover. */
      active?: () => boolean;
    },
  ) {}

  /** This collector became the leader: every group is looked at now (the shared nlog says what was sent). */
  resume(now: number): void {
    this.restore(now);
    for (const g of this.groups.values()) this.schedule(g, now);
  }

  /** Puts every firing or resolved alert (e.g. loaded after a restart) into its groups. */
  restore(now: number): void {
    for (const a of this.deps.alerts.all()) if (a.state !== 'pending') this.add(a, now);
  }

  /** Alert changed (fired, resolved, acked): make sure its groups hold it. */
  add(a: StoredAlert, now: number): void {
    if (this.closed || a.state === 'pending') return;
    for (const route of matchRoutes(this.route, a.labels)) {
      const groupLabels: Labels = {};
      if (route.groupBy === 'all') Object.assign(groupLabels, a.labels);
      else for (const k of route.groupBy) if (a.labels[k] !== undefined) groupLabels[k] = a.labels[k]!;
      const key = `${route.id}:${sortedLabelString(groupLabels)}`;
      let g = this.groups.get(key);
      if (!g) {
        g = { key, route, labels: groupLabels, fingerprints: new Set(), timer: undefined, nextFlushAt: 0 };
        this.groups.set(key, g);
        this.schedule(g, now + route.groupWaitMs);
      }
      g.fingerprints.add(a.fingerprint);
    }
  }

  muteState(a: StoredAlert, now: number): MuteState {
    const firing = this.deps.alerts.firing();
    const inhibitor = this.deps.inhibitor().inhibitedBy(a.labels, firing);
    return { silencedBy: this.deps.silences.silencedBy(a.labels, now), inhibitedBy: inhibitor ? [inhibitor] : [] };
  }

  groupCount(): number {
    return this.groups.size;
  }

  close(): void {
    this.closed = true;
    for (const g of this.groups.values()) if (g.timer) clearTimeout(g.timer);
  }

  private schedule(g: Group, at: number): void {
    if (g.timer) clearTimeout(g.timer);
    g.nextFlushAt = at;
    g.timer = setTimeout(() => this.flushSafely(g), Math.max(0, at - Date.now()));
    g.timer.unref();
  }

  private flushSafely(g: Group): void {
    g.timer = undefined;
    if (this.closed) return;
    if (this.deps.active && !this.deps.active()) {
      this.schedule(g, Date.now() + Math.min(g.route.groupIntervalMs, 1000));
      return;
    }
    this.flush(g, Date.now()).catch((err: unknown) => {
      this.deps.logger.error({ group: g.key, error: (err as Error).message }, 'alert group flush failed; retrying at the next interval');
      if (!this.closed) this.schedule(g, Date.now() + g.route.groupIntervalMs);
    });
  }

  private async flush(g: Group, now: number): Promise<void> {
    const alerts: StoredAlert[] = [];
    for (const fp of g.fingerprints) {
      const a = this.deps.alerts.get(fp);
      if (a && a.state !== 'pending') alerts.push(a);
      else g.fingerprints.delete(fp);
    }
    const firingAll = this.deps.alerts.firing();
    const inhibitor = this.deps.inhibitor();
    const visible = alerts.filter(
      (a) =>
        this.deps.silences.silencedBy(a.labels, now).length === 0 &&
        (a.state !== 'firing' || inhibitor.inhibitedBy(a.labels, firingAll) === undefined),
    );
    // Alertmanager's mute stages end the pipeline when they filter out every alert: the nlog is
    // left alone, so an alert muted for a while (e.g. inhibited by HostSilent) is not "resolved"
    // and then notified again as new once the mute ends.
    const allMuted = visible.length === 0 && alerts.length > 0;
    const firing = visible.filter((a) => a.state === 'firing');
    const resolved = visible.filter((a) => a.state === 'resolved');
    const receiver = g.route.receiver;
    const integrations = this.receivers.get(receiver) ?? [];
    const sendResolved = integrations.some((i) => i.sendResolved);
    const firingSet = new Set(firing.map((a) => a.fingerprint));
    const resolvedSet = new Set(resolved.map((a) => a.fingerprint));
    const unacked = new Set(firing.filter((a) => !a.ack).map((a) => a.fingerprint));
    const entry = await this.deps.store.nlog(g.key, receiver);
    if (this.closed) return;
    const reason = allMuted ? undefined : notifyReason(entry, firingSet, resolvedSet, unacked, sendResolved, g.route.repeatIntervalMs, now);

    if (reason) {
      // Resolved alerts go out only if this receiver was told they fired.
      const told = new Set(entry?.firing ?? []);
      const resolvedToSend = resolved.filter((a) => told.has(a.fingerprint));
      const n = this.notification(g, receiver, firing, resolvedToSend, reason);
      const queued = n.alerts.length ? this.deps.outbox.queue(integrations, n) : [];
      await this.deps.store.notify(
        { groupKey: g.key, receiver, firing: [...firingSet], resolved: resolvedToSend.map((a) => a.fingerprint), at: now },
        queued,
        now,
      );
      this.deps.outbox.kick(0);
      this.deps.logger.info(
        { group: g.key, receiver, reason, firing: firing.length, resolved: resolvedToSend.length },
        'alert group notified',
      );
    }

    // Resolved alerts have been dealt with: they leave the group (and the table when no group holds them).
    for (const a of alerts) {
      if (a.state !== 'resolved') continue;
      g.fingerprints.delete(a.fingerprint);
      if (![...this.groups.values()].some((o) => o.fingerprints.has(a.fingerprint))) this.deps.alerts.forget(a.fingerprint);
    }
    if (g.fingerprints.size === 0) {
      this.groups.delete(g.key);
      // Nothing left to tell this receiver: the next alert of this group is a first notification.
      if (entry || reason) await this.deps.store.notify({ groupKey: g.key, receiver, firing: [], resolved: [], at: now }, [], now);
      return;
    }
    this.schedule(g, now + g.route.groupIntervalMs);
  }

  private notification(g: Group, receiver: string, firing: StoredAlert[], resolved: StoredAlert[], reason: string): Notification {
    const all = [...firing, ...resolved];
    const view = (a: StoredAlert): NotifiedAlert => ({
      status: a.state === 'firing' ? 'firing' : 'resolved',
      labels: a.labels,
      annotations: a.annotations,
      startsAt: new Date(a.startsAt || a.activeAt).toISOString(),
      endsAt: a.state === 'resolved' ? new Date(a.endsAt).toISOString() : ZERO_TIME,
      generatorURL: this.deps.externalUrl ? `${this.deps.externalUrl}/api/v1/alerts?fingerprint=${a.fingerprint}` : '',
      fingerprint: a.fingerprint,
      acknowledged: a.ack !== null,
    });
    const annotations = all.map((a) => a.annotations);
    return {
      receiver,
      status: firing.length ? 'firing' : 'resolved',
      groupKey: g.key,
      groupLabels: g.labels,
      commonLabels: commonLabels(all.map((a) => a.labels)),
      commonAnnotations: commonLabels(annotations),
      externalURL: this.deps.externalUrl,
      reason,
      truncatedAlerts: 0,
      alerts: all.map(view),
    };
  }
}
