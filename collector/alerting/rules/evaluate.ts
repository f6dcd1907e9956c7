// Rule evaluation on the live stream: every point the collector accepts passes through
// onPoints() (fast alerting: a condition in a report is decided when the report
// arrives); tick() runs the clock-driven parts (absence, event auto-resolve, stale series).
import type { FieldNeeds, Point } from '../../points.js';
import { AlertTable } from '../alerts.js';
import { fingerprint } from '../labels.js';
import type { Labels } from '../types.js';
import { compare, evalExpr } from './expr.js';
import type { Rule } from './rule.js';

/** Tags that change with the instance's state: not part of an alert's identity. */
const VOLATILE_TAGS = new Set(['role', 'state', 'kind']);

/** A series that sent no point for this long resolves its threshold alerts (unless its host is silent). */
export const STALE_SERIES_MS = 5 * 60_000;
/**
 * Stale series are looked for this often, not on every tick: a sweep visits every series of every
 * threshold rule (~11 per instance with the built-in rules), ~5 % of a 1,000-host collector's main
 * thread when done each second (docs/benchmarks.md, "Fleet size"). A series goes up to this much
 * later than STALE_SERIES_MS.
 */
export const STALE_SWEEP_MS = 5_000;

interface Series {
  labels: Labels;
  /**
   * The fingerprint of this series' alert labels under `alertRule`. The labels themselves are made
   * only when an alert is (AlertTable.observe): ~11 series per instance stay alive, and each object
   * they hold is marked by every full GC (docs/benchmarks.md, "Fewer objects per alert series").
   */
  alertFp?: string;
  alertRule?: Rule;
  /** Deleted from its rule's series (stale): a point of the series starts a new one. */
  dropped?: boolean;
  lastSeen: number;
  /** Newest last: [time, value]. Fluctuation rules only; the others share NO_VALUES. */
  values: [number, number][];
}

const NO_VALUES: [number, number][] = Object.freeze([]) as unknown as [number, number][];

/** Every field set at birth: one shape for all series, and no out-of-object property array each. */
function newSeries(labels: Labels, lastSeen: number, values: [number, number][]): Series {
  return { labels, alertFp: undefined, alertRule: undefined, dropped: false, lastSeen, values };
}

interface RuleState {
  rule: Rule;
  series: Map<string, Series>;
  lastEvalAt: number;
}

function identity(tags: Record<string, string>): Labels {
  const out: Labels = {};
  for (const k in tags) if (!VOLATILE_TAGS.has(k)) out[k] = tags[k]!;
  return out;
}

/** What a persisted window must match to be reused: the same function over the same values. */
export function windowShape(r: Rule): string {
  return JSON.stringify([
    r.measurement,
    r.expr?.text,
    r.func,
    r.points ?? null,
    r.offsetMs ?? null,
    r.where.map((m) => [m.name, m.value, m.isRegex, m.isEqual]),
  ]);
}

export interface WindowChange {
  rule: string;
  series: string;
  shape: string;
  labels: Labels;
  lastSeen: number;
  values: [number, number][] | null;
}

const keyOf = (labels: Labels): string =>
  JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );

/** A point's series: its identity labels (shared, never mutated) and their key. */
interface SeriesId {
  labels: Labels;
  key: string;
  /**
   * The Series of this id under each rule of `states` (an evaluator's rules of one measurement,
   * replaced on setRules), by position: no map lookup per rule and sample.
   */
  states?: RuleState[];
  row?: (Series | undefined)[];
}

/**
 * Per tags object: collector/points.ts gives the rules the same tags objects report after report
 * (a point's tags are not changed once it is evaluated), so a series' key is built once.
 */
const seriesIds = new WeakMap<Record<string, string>, SeriesId>();

function seriesId(tags: Record<string, string>): SeriesId {
  let id = seriesIds.get(tags);
  if (!id) {
    const labels = identity(tags);
    seriesIds.set(tags, (id = { labels, key: keyOf(labels) }));
  }
  return id;
}

export class Evaluator {
  private states = new Map<string, RuleState>();
  /** Rule name → rule, as `rules` gives it (a copy there), kept for tick(). */
  private ruleMap = new Map<string, Rule>();
  private byMeasurement = new Map<string, RuleState[]>();
  /** Per measurement a rule reads: the fields its expressions name, or every field (event rules, `event`). */
  private needs = new Map<string, Set<string> | 'all'>();
  /** What onPoints() reads of a report: the reports' points need no more (batch.ts). */
  readonly need: FieldNeeds = (measurement) => this.needs.get(measurement);
  private readonly silentHosts = new Set<string>();
  private lastStaleSweep = Number.NEGATIVE_INFINITY;
  /** Fluctuation windows changed (or dropped) since the last takeWindowChanges(): `rule\0series`. */
  private readonly changedWindows = new Set<string>();

  constructor(
    private readonly alerts: AlertTable,
    rules: Rule[],
  ) {
    this.setRules(rules);
  }

  get rules(): Map<string, Rule> {
    return new Map(this.ruleMap);
  }

  lastEvalAt(name: string): number {
    return this.states.get(name)?.lastEvalAt ?? 0;
  }

  /** Replaces the rule set; a rule kept with the same name keeps its series (window history). */
  setRules(rules: Rule[]): void {
    const next = new Map<string, RuleState>();
    for (const r of rules) {
      const old = this.states.get(r.name);
      const keep = old && old.rule.measurement === r.measurement && (r.kind !== 'fluctuation' || windowShape(old.rule) === windowShape(r));
      next.set(r.name, { rule: r, series: keep ? old.series : new Map(), lastEvalAt: old?.lastEvalAt ?? 0 });
    }
    this.states = next;
    this.ruleMap = new Map([...next].map(([n, st]) => [n, st.rule]));
    this.byMeasurement = new Map();
    // Collector and agent events mark silent hosts whatever the rules.
    this.needs = new Map([['event', 'all']]);
    for (const s of next.values()) {
      const r = s.rule;
      const list = this.byMeasurement.get(r.measurement) ?? [];
      list.push(s);
      this.byMeasurement.set(r.measurement, list);
      const need = this.needs.get(r.measurement);
      if (need === 'all') continue;
      if (r.kind === 'event' || (r.kind !== 'absence' && !r.expr)) {
        this.needs.set(r.measurement, 'all');
        continue;
      }
      const fields = need ?? new Set<string>();
      for (const o of [r.expr?.left, r.expr?.right]) if (o && 'field' in o) fields.add(o.field);
      this.needs.set(r.measurement, fields);
    }
  }

  /** Windows loaded from the store after a restart: kept when the rule still has the same shape. */
  restoreWindows(
    rows: { rule: string; series: string; shape: string; labels: Labels; lastSeen: number; values: [number, number][] }[],
    now = Date.now(),
  ): number {
    let n = 0;
    for (const w of rows) {
      const st = this.states.get(w.rule);
      if (!st || st.rule.kind !== 'fluctuation' || windowShape(st.rule) !== w.shape || st.series.has(w.series)) continue;
      // The collector's own downtime is not the series' silence: it gets the full stale grace again.
      st.series.set(w.series, newSeries(w.labels, Math.max(w.lastSeen, now), w.values));
      n++;
    }
    return n;
  }

  /** The windows to write (values) or delete (null) since the last call. */
  takeWindowChanges(): WindowChange[] {
    const out: WindowChange[] = [];
    for (const id of this.changedWindows) {
      const i = id.indexOf('\0');
      const rule = id.slice(0, i);
      const series = id.slice(i + 1);
      const st = this.states.get(rule);
      const s = st?.series.get(series);
      out.push({
        rule,
        series,
        shape: st ? windowShape(st.rule) : '',
        labels: s?.labels ?? {},
        lastSeen: s?.lastSeen ?? 0,
        values: s && st?.rule.kind === 'fluctuation' ? [...s.values] : null,
      });
    }
    this.changedWindows.clear();
    return out;
  }

  onPoints(points: Point[], now = Date.now()): void {
    for (const p of points) {
      if (p.measurement === 'event') this.noteHostEvent(p);
      const states = this.byMeasurement.get(p.measurement);
      if (!states) continue;
      // The series identity of this point, worked out once for every rule reading its measurement.
      let id: SeriesId | undefined;
      for (let i = 0; i < states.length; i++) {
        const st = states[i]!;
        st.lastEvalAt = now;
        if (st.rule.kind === 'event') this.onEvent(st, p, now);
        else this.onSample(st, p, this.series(states, i, (id ??= seriesId(p.tags)), now), now);
      }
    }
  }

  tick(now = Date.now()): void {
    // A clock that went back (a test's, or the host's) sweeps too.
    const sweep = now - this.lastStaleSweep >= STALE_SWEEP_MS || now < this.lastStaleSweep;
    if (sweep) this.lastStaleSweep = now;
    for (const st of this.states.values()) {
      const r = st.rule;
      if (r.kind === 'absence') {
        for (const s of st.series.values()) {
          if (now - s.lastSeen >= r.forMs) this.alerts.observe(r, s.labels, true, Math.round((now - s.lastSeen) / 1000), now, 0);
        }
      } else if (r.kind === 'event') {
        if (r.resolveAfterMs === undefined) continue;
        for (const a of this.alerts.ofRule(r.name)) {
          if (a.state === 'firing' && now - a.lastTrueAt >= r.resolveAfterMs)
            this.alerts.resolve(a, now, a.value, `no ${r.event} for ${r.resolveAfterMs / 1000}s`);
        }
      } else if (sweep) {
        // forEach: no [key, series] pair made per series and tick; a cutoff, not a difference per series.
        const staleBefore = now - STALE_SERIES_MS;
        st.series.forEach((s, k) => {
          if (s.lastSeen > staleBefore) return;
          if (s.labels.host && this.silentHosts.has(s.labels.host)) return;
          st.series.delete(k);
          s.dropped = true;
          if (r.kind === 'fluctuation') this.changedWindows.add(`${r.name}\0${k}`);
          this.alerts.observe(r, s.labels, false, null, now);
        });
      }
    }
    this.alerts.promote(this.ruleMap, now);
  }

  private noteHostEvent(p: Point): void {
    const host = p.tags.host;
    if (!host) return;
    if (p.tags.kind === 'host.down') this.silentHosts.add(host);
    else if (p.tags.kind === 'host.up') this.silentHosts.delete(host);
  }

  /** The series of `id` under `states[i]`, made when new; seen now. */
  private series(states: RuleState[], i: number, id: SeriesId, now: number): Series {
    const st = states[i]!;
    const k = id.key;
    if (st.rule.kind === 'fluctuation') this.changedWindows.add(`${st.rule.name}\0${k}`);
    if (id.states !== states) {
      id.states = states;
      id.row = new Array<undefined>(states.length);
    }
    let s = id.row![i];
    if (!s || s.dropped) {
      s = st.series.get(k);
      if (!s) {
        s = newSeries(id.labels, now, st.rule.kind === 'fluctuation' ? [] : NO_VALUES);
        st.series.set(k, s);
      }
      id.row![i] = s;
    }
    s.lastSeen = now;
    return s;
  }

  private onSample(st: RuleState, p: Point, s: Series, now: number): void {
    const r = st.rule;
    if (s.alertRule !== r) {
      s.alertFp = fingerprint(AlertTable.labelsFor(r, s.labels));
      s.alertRule = r;
    }
    const labels = s.labels;
    const fp = s.alertFp!;
    if (r.kind === 'absence') {
      // A point arrived: the series is present again.
      this.alerts.observe(r, labels, false, null, now, 0, fp);
      return;
    }
    // A series outside the rule's `where` (e.g. a master that became a replica) is a false condition.
    if (!r.matchWhere(p.tags)) {
      this.alerts.observe(r, labels, false, null, now, r.forMs, fp);
      return;
    }
    const v = evalExpr(r.expr!, p.fields);
    if (v === undefined) return;
    if (r.kind === 'threshold') {
      this.alerts.observe(r, labels, compare(v, r.op!, r.value!), v, now, r.forMs, fp);
      return;
    }
    if (typeof v !== 'number') return;
    pushValue(s, r, p.time, v);
    const d = fluctuation(r, s.values);
    if (d) this.alerts.observe(r, labels, d.cond, d.value, now, r.forMs, fp);
  }

  private onEvent(st: RuleState, p: Point, now: number): void {
    const r = st.rule;
    const kind = p.tags.kind;
    if (kind !== r.event && kind !== r.resolvedBy) return;
    if (!r.matchWhere(p.tags)) return;
    const attrs = parseAttrs(p.fields.attrs);
    const labels = identity(p.tags);
    for (const a of r.attrs ?? []) if (attrs[a]) labels[a] = attrs[a]!;
    if (kind === r.event) {
      const message = typeof p.fields.message === 'string' ? p.fields.message : null;
      this.alerts.observe(r, labels, true, message, now, 0);
      return;
    }
    // The resolving event resolves every alert of the rule whose labels it names (attrs it lacks match all).
    const want = AlertTable.labelsFor(r, labels);
    for (const a of this.alerts.ofRule(r.name)) {
      if (a.state !== 'firing') continue;
      if (Object.entries(want).every(([k, v]) => a.labels[k] === v)) this.alerts.resolve(a, now, a.value, `${kind} received`);
    }
  }
}

function parseAttrs(v: unknown): Record<string, string> {
  if (typeof v !== 'string' || !v) return {};
  try {
    const o = JSON.parse(v) as unknown;
    return o && typeof o === 'object' ? (o as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Keeps what the rule's function needs: N+1 newest points, or enough time to reach back `offset`. */
function pushValue(s: Series, r: Rule, time: number, v: number): void {
  const vals = s.values;
  const last = vals[vals.length - 1];
  if (last && time <= last[0]) {
    if (time === last[0]) last[1] = v;
    return; // out-of-order or duplicate timestamps are dropped (as Open-Falcon's judge does)
  }
  if (r.offsetMs !== undefined) {
    // Down-sample to at most ~600 points per offset window so a 1d offset stays small.
    const step = r.offsetMs / 600;
    const prev = vals[vals.length - 2];
    if (last && prev && last[0] - prev[0] < step) vals.pop();
    vals.push([time, v]);
    const keepFrom = time - r.offsetMs - Math.max(r.offsetMs * 0.1, 2 * step);
    while (vals.length > 2 && vals[0]![0] < keepFrom && vals[1]![0] <= time - r.offsetMs) vals.shift();
    return;
  }
  vals.push([time, v]);
  const keep = r.points! + 1;
  if (vals.length > keep) vals.splice(0, vals.length - keep);
}

/** Open-Falcon's window functions and the offset comparison; undefined = not enough data to decide. */
export function fluctuation(r: Rule, vals: [number, number][]): { cond: boolean; value: number } | undefined {
  const op = r.op!;
  const target = r.value as number;
  const newest = vals[vals.length - 1];
  if (!newest) return undefined;
  const [t, v] = newest;
  const floor = r.minBaseline ?? 0;
  if (r.func === 'offset_diff' || r.func === 'offset_pct') {
    const at = t - r.offsetMs!;
    let base: [number, number] | undefined;
    for (const p of vals) {
      if (p[0] <= at) base = p;
      else break;
    }
    // Missing baseline (a new series, a gap, a restart): no decision, never "fine" and never a fire.
    const spacing = vals.length > 1 ? t - vals[vals.length - 2]![0] : 0;
    if (!base || at - base[0] > Math.max(r.offsetMs! * 0.1, 2 * spacing)) return undefined;
    if (r.func === 'offset_diff') return { cond: compare(v - base[1], op, target), value: v - base[1] };
    if (Math.abs(base[1]) <= floor || base[1] === 0) return undefined;
    const pct = ((v - base[1]) / base[1]) * 100;
    return { cond: compare(pct, op, target), value: pct };
  }
  const n = r.points!;
  if (r.func === 'diff' || r.func === 'pdiff') {
    if (vals.length < n + 1) return undefined;
    const older = vals.slice(vals.length - 1 - n, vals.length - 1);
    let decided = false;
    let first: number | undefined;
    for (const [, o] of older) {
      let d: number;
      if (r.func === 'diff') d = v - o;
      else {
        if (o === 0 || Math.abs(o) <= floor) continue; // a zero baseline is skipped, never divided by
        d = ((v - o) / o) * 100;
      }
      decided = true;
      first ??= d;
      if (compare(d, op, target)) return { cond: true, value: d };
    }
    return decided ? { cond: false, value: first! } : undefined;
  }
  if (vals.length < n) return undefined;
  const win = vals.slice(vals.length - n).map((p) => p[1]);
  switch (r.func) {
    case 'all':
      return { cond: win.every((x) => compare(x, op, target)), value: v };
    case 'max': {
      const m = Math.max(...win);
      return { cond: compare(m, op, target), value: m };
    }
    case 'min': {
      const m = Math.min(...win);
      return { cond: compare(m, op, target), value: m };
    }
    case 'sum': {
      const m = win.reduce((a, b) => a + b, 0);
      return { cond: compare(m, op, target), value: m };
    }
    case 'avg': {
      const m = win.reduce((a, b) => a + b, 0) / n;
      return { cond: compare(m, op, target), value: m };
    }
    default:
      return undefined;
  }
}
