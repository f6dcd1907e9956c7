// Downsampling of raw points (PointQuery.stepMs) for the sinks that cannot aggregate in their
// own query language (VictoriaMetrics' export API) and as the reference the others are tested
// against: one point per (series, bucket), numeric fields aggregated, strings left out.
import type { FieldValue, Point, Tags } from './points.js';
import type { Aggregate } from './sink.js';

interface Acc {
  tags: Tags;
  time: number;
  /** Per field: [sum or extreme or last, count]. */
  fields: Map<string, [number, number]>;
}

/** The bucket a time falls in (its start): multiples of stepMs since the epoch. */
export function bucketOf(time: number, stepMs: number): number {
  return Math.floor(time / stepMs) * stepMs;
}

/** Raw points (any order within a series is fine for mean/max/min; oldest first for last) → one per bucket. */
export function downsample(points: Iterable<Point>, stepMs: number, agg: Aggregate = 'mean', fields?: string[]): Point[] {
  const keep = fields ? new Set(fields) : undefined;
  const buckets = new Map<string, Acc>();
  const seriesKeys = new WeakMap<Tags, string>();
  let measurement = '';
  for (const p of points) {
    measurement = p.measurement;
    let sk = seriesKeys.get(p.tags);
    if (sk === undefined) seriesKeys.set(p.tags, (sk = JSON.stringify(p.tags)));
    const time = bucketOf(p.time, stepMs);
    const key = `${time}\u0000${sk}`;
    let acc = buckets.get(key);
    if (!acc) buckets.set(key, (acc = { tags: p.tags, time, fields: new Map() }));
    for (const name in p.fields) {
      const v = p.fields[name];
      if (typeof v !== 'number' || (keep && !keep.has(name))) continue;
      const cur = acc.fields.get(name);
      if (!cur) acc.fields.set(name, [v, 1]);
      else if (agg === 'mean') {
        cur[0] += v;
        cur[1]++;
      } else if (agg === 'max') cur[0] = Math.max(cur[0], v);
      else if (agg === 'min') cur[0] = Math.min(cur[0], v);
      else cur[0] = v;
    }
  }
  const out: Point[] = [];
  for (const acc of buckets.values()) {
    if (acc.fields.size === 0) continue;
    const f: Record<string, FieldValue> = {};
    for (const [name, [v, n]] of acc.fields) f[name] = agg === 'mean' ? v / n : v;
    out.push({ measurement, tags: acc.tags, fields: f, time: acc.time });
  }
  return out.sort((a, b) => a.time - b.time);
}

/** Per-series buckets → the sum per (bucket, values of the `by` tags); the other tags are dropped. */
export function sumSeries(points: Point[], by: string[]): Point[] {
  const sums = new Map<string, Point>();
  for (const p of points) {
    const tags: Tags = {};
    for (const t of by) if (p.tags[t] !== undefined) tags[t] = p.tags[t];
    const key = `${p.time}\u0000${JSON.stringify(tags)}`;
    let s = sums.get(key);
    if (!s) sums.set(key, (s = { measurement: p.measurement, tags, fields: {}, time: p.time }));
    for (const name in p.fields) {
      const v = p.fields[name];
      if (typeof v === 'number') s.fields[name] = ((s.fields[name] as number | undefined) ?? 0) + v;
    }
  }
  return [...sums.values()].sort((a, b) => a.time - b.time);
}
