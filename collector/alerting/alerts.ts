// The active alerts and their state machine (Prometheus semantics): a true condition
// makes an alert pending, `for` later firing; a false one drops a pending alert and
// resolves a firing one (after keepFiringFor). State changes are written to the store
// at once; the last-true time and value of an unchanged alert are written in batches.
import { mergeRecords } from '../../common/index.js';
import { fingerprint, renderTemplate } from './labels.js';
import type { Rule } from './rules/rule.js';
import type { SqliteAlertingStore, StoredAlert } from './store.js';
import type { Ack, Labels } from './types.js';

export interface AlertListener {
  /** An alert started firing, resolved, or was acknowledged. */
  changed(a: StoredAlert, now: number): void;
}

export class AlertTable {
  private readonly alerts = new Map<string, StoredAlert>();
  private readonly dirty = new Set<string>();
  listener: AlertListener | undefined;

  constructor(private readonly store: SqliteAlertingStore) {
    for (const a of store.loadAlerts()) {
      // Stores written before fingerprints became Alertmanager's FNV-1a keyed alerts by a sha256 prefix.
      const fp = fingerprint(a.labels);
      if (fp !== a.fingerprint) {
        store.deleteAlert(a.fingerprint);
        a.fingerprint = fp;
        store.saveAlert(a);
      }
      this.alerts.set(fp, a);
    }
  }

  get(fp: string): StoredAlert | undefined {
    return this.alerts.get(fp);
  }
  all(): StoredAlert[] {
    return [...this.alerts.values()];
  }
  firing(): StoredAlert[] {
    return this.all().filter((a) => a.state === 'firing');
  }
  ofRule(name: string): StoredAlert[] {
    return this.all().filter((a) => a.rule === name);
  }

  /** Labels of an alert of `rule` on a series with `seriesLabels`. */
  static labelsFor(rule: Rule, seriesLabels: Labels): Labels {
    return mergeRecords<Labels>(seriesLabels, rule.labels, { alertname: rule.name });
  }

  /**
   * One evaluation of `rule` on a series: cond true/false (undefined = no decision, nothing changes).
   * The alert's labels are labelsFor(rule, seriesLabels), made only when an alert is: a series
   * keeps its fingerprint (`fp`, when the caller has it), not a labels object per rule.
   * `forMs` overrides the rule's (absence and event rules decide their own timing).
   */
  observe(
    rule: Rule,
    seriesLabels: Labels,
    cond: boolean | undefined,
    value: number | string | null,
    now: number,
    forMs = rule.forMs,
    fp?: string,
  ): void {
    if (cond === undefined) return;
    let labels: Labels | undefined;
    if (fp === undefined) fp = fingerprint((labels = AlertTable.labelsFor(rule, seriesLabels)));
    const a = this.alerts.get(fp);
    if (cond) {
      if (!a || a.state === 'resolved') {
        const fresh: StoredAlert = {
          fingerprint: fp,
          labels: labels ?? AlertTable.labelsFor(rule, seriesLabels),
          annotations: {},
          state: 'pending',
          rule: rule.name,
          activeAt: now,
          startsAt: 0,
          endsAt: 0,
          value,
          updatedAt: now,
          ack: null,
          lastTrueAt: now,
        };
        fresh.annotations = this.render(rule, fresh);
        this.alerts.set(fp, fresh);
        if (forMs <= 0) this.fire(fresh, now);
        else this.save(fresh);
        return;
      }
      a.lastTrueAt = now;
      a.value = value;
      a.updatedAt = now;
      a.annotations = this.render(rule, a);
      if (a.state === 'pending' && now - a.activeAt >= forMs) this.fire(a, now);
      else this.dirty.add(fp);
      return;
    }
    if (!a) return;
    if (a.state === 'pending') {
      this.alerts.delete(fp);
      this.dirty.delete(fp);
      this.store.deleteAlert(fp);
    } else if (a.state === 'firing' && now - a.lastTrueAt >= rule.keepFiringForMs) {
      this.resolve(a, now, value);
    }
  }

  /** Pending alerts whose `for` has elapsed while the condition held (the timer's part). */
  promote(rules: Map<string, Rule>, now: number): void {
    for (const a of this.alerts.values()) {
      if (a.state !== 'pending') continue;
      const rule = rules.get(a.rule);
      if (!rule) continue;
      // A pending alert exists only while its latest evaluation was true (a false one drops it).
      if (now - a.activeAt >= rule.forMs) this.fire(a, now);
    }
  }

  resolve(a: StoredAlert, now: number, value: number | string | null = a.value, why = ''): void {
    if (a.state === 'resolved') return;
    if (a.state === 'pending') {
      this.alerts.delete(a.fingerprint);
      this.store.deleteAlert(a.fingerprint);
      return;
    }
    a.state = 'resolved';
    a.endsAt = now;
    a.value = value;
    a.updatedAt = now;
    this.save(a);
    this.store.addHistory(now, a, 'resolved', why);
    this.listener?.changed(a, now);
  }

  ack(a: StoredAlert, ack: Ack, now: number): void {
    a.ack = ack;
    a.updatedAt = now;
    this.save(a);
    this.store.addHistory(now, a, 'acknowledged', `${ack.by}${ack.comment ? `: ${ack.comment}` : ''}`);
    this.listener?.changed(a, now);
  }

  /** A resolved alert no aggregation group holds any more leaves the active table. */
  forget(fp: string): void {
    const a = this.alerts.get(fp);
    if (!a || a.state !== 'resolved') return;
    this.alerts.delete(fp);
    this.dirty.delete(fp);
    this.store.deleteAlert(fp);
  }

  /** An alert as another collector of the cluster wrote it (newer than ours wins). */
  merge(a: StoredAlert, now: number): void {
    // A collector not yet upgraded writes sha256-prefix ids; the alert is the same one.
    a.fingerprint = fingerprint(a.labels);
    const mine = this.alerts.get(a.fingerprint);
    if (mine && mine.updatedAt > a.updatedAt) return;
    this.alerts.set(a.fingerprint, a);
    this.dirty.delete(a.fingerprint);
    this.store.merge(() => this.store.saveAlert(a));
    if (a.state !== 'pending' && (!mine || mine.state !== a.state || (mine.ack === null) !== (a.ack === null)))
      this.listener?.changed(a, now);
  }

  /** Another collector dropped the alert (a pending one went away, or a resolved one was forgotten). */
  mergeDelete(fp: string): void {
    const a = this.alerts.get(fp);
    if (!a || a.state === 'firing') return;
    this.alerts.delete(fp);
    this.dirty.delete(fp);
    this.store.merge(() => this.store.deleteAlert(fp));
  }

  /** Alerts of rules that no longer exist (after a reload) resolve. */
  resolveOrphans(rules: Map<string, Rule>, now: number): void {
    for (const a of [...this.alerts.values()]) if (!rules.has(a.rule)) this.resolve(a, now, a.value, 'rule removed');
  }

  /** Writes batched last-true/value updates. */
  flush(): void {
    if (!this.dirty.size) return;
    this.store.transaction(() => {
      for (const fp of this.dirty) {
        const a = this.alerts.get(fp);
        if (a) this.store.saveAlert(a);
      }
    });
    this.dirty.clear();
  }

  private fire(a: StoredAlert, now: number): void {
    a.state = 'firing';
    a.startsAt = now;
    a.updatedAt = now;
    this.save(a);
    this.store.addHistory(now, a, 'firing');
    this.listener?.changed(a, now);
  }

  private save(a: StoredAlert): void {
    this.dirty.delete(a.fingerprint);
    this.store.saveAlert(a);
  }

  private render(rule: Rule, a: StoredAlert): Labels {
    const out: Labels = {};
    for (const [k, v] of Object.entries(rule.annotations)) out[k] = renderTemplate(v, a.labels, a.value);
    return out;
  }
}
