// VictoriaMetrics behind the `influx` sink (`influx.flavor: victoriametrics`). Writes need nothing
// of their own: VictoriaMetrics takes the same line protocol at POST /write (the `db` query arg
// becomes a `db` label) and answers CREATE DATABASE with a stub, so InfluxSink writes to it as is.
// It stores one series per numeric field, `<measurement>_<field>`, with the tags as labels; string
// fields are not kept (https://docs.victoriametrics.com/#how-to-send-data-from-influxdb-compatible-agents-such-as-telegraf).
// Reads (the API's history view) go through /api/v1/export and are put back together as points,
// or with a step folded into buckets as they are read.
import { MEASUREMENTS } from '../proto/index.js';
import type { InfluxConfig } from './config.js';
import type { FieldValue, Point, Tags } from './points.js';
import { sumSeries } from './downsample.js';
import type { PointQuery } from './sink.js';

interface ExportLine {
  metric: Record<string, string>;
  values: (number | null)[];
  timestamps: number[];
}

/** Measurement names, longest first. */
const BY_LENGTH = Object.keys(MEASUREMENTS).sort((a, b) => b.length - a.length);

/**
 * The measurement and field a VictoriaMetrics metric name stands for. Names are ambiguous
 * (`redis_keyspace_hit_ratio` could be redis.keyspace_hit_ratio or redis_keyspace.hit_ratio): the
 * measurement that lists the field wins, else the longest one that keeps unlisted numeric fields.
 */
export function splitMetricName(name: string): { measurement: string; field: string } | undefined {
  const candidates = BY_LENGTH.filter((m) => name.startsWith(`${m}_`) && name.length > m.length + 1).map((m) => ({
    measurement: m,
    field: name.slice(m.length + 1),
  }));
  return (
    candidates.find((c) => MEASUREMENTS[c.measurement]!.fields[c.field] !== undefined) ??
    candidates.find((c) => MEASUREMENTS[c.measurement]!.otherNumericFields === 'float')
  );
}

const quote = (v: string): string => JSON.stringify(v);

/** The PointQuery the embedded store and InfluxDB answer, over VictoriaMetrics' export API. */
export async function victoriaQuery(cfg: InfluxConfig, q: PointQuery, timeoutMs = 10_000): Promise<Point[]> {
  if (!/^\w+$/.test(q.measurement)) return [];
  const names = q.fields ? `(${q.fields.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})` : '.+';
  const matchers = [`__name__=~${quote(`${q.measurement}_${names}`)}`];
  for (const [k, v] of Object.entries(q.tags ?? {})) matchers.push(`${k}=${quote(v)}`);
  const params = new URLSearchParams({ 'match[]': `{${matchers.join(',')}}` });
  if (q.from !== undefined) params.set('start', String(q.from / 1000));
  if (q.to !== undefined) params.set('end', String(q.to / 1000));
  const headers: Record<string, string> = {};
  if (cfg.username !== undefined)
    headers.authorization = `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}`;
  const res = await fetch(new URL(`api/v1/export?${params}`, cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`), {
    headers,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`victoriametrics: HTTP ${res.status}: ${text.trim().slice(0, 300)}`);
  if (q.stepMs !== undefined) {
    const buckets = bucketExport(text, q, q.stepMs);
    return (q.sumBy ? sumSeries(buckets, q.sumBy) : buckets).slice(0, q.limit ?? 10_000);
  }
  // One point per (labels, timestamp), as the line protocol wrote it.
  const points = new Map<string, Point>();
  for (const line of text.split('\n')) {
    const parsed = parseLine(line, q.measurement);
    if (!parsed) continue;
    const { e, field, tags, key } = parsed;
    e.timestamps.forEach((t, i) => {
      const v = e.values[i];
      if (v === null || v === undefined) return;
      let p = points.get(`${key}@${t}`);
      if (!p) points.set(`${key}@${t}`, (p = { measurement: q.measurement, tags, fields: {}, time: t }));
      p.fields[field] = v as FieldValue;
    });
  }
  return [...points.values()].sort((a, b) => a.time - b.time).slice(0, q.limit ?? 10_000);
}

/** One export line of the query's measurement: the field it holds and its tags (sorted, `db` left out). */
function parseLine(line: string, measurement: string): { e: ExportLine; field: string; tags: Tags; key: string } | undefined {
  if (!line) return undefined;
  const e = JSON.parse(line) as ExportLine;
  const { __name__: name, db: _db, ...labels } = e.metric;
  const split = name ? splitMetricName(name) : undefined;
  if (!split || split.measurement !== measurement) return undefined;
  const tags: Tags = {};
  for (const k of Object.keys(labels).sort()) tags[k] = labels[k]!;
  return { e, field: split.field, tags, key: JSON.stringify(tags) };
}

/**
 * Step buckets folded straight from the export lines (one series and field each), as downsample()
 * folds points, without a point per sample first: a 24 h cluster chart is 172,800 samples.
 */
function bucketExport(text: string, q: PointQuery, step: number): Point[] {
  const agg = q.agg ?? 'mean';
  // Per series, per bucket, per field: [sum or extreme or last, count, time of last].
  const series = new Map<string, { tags: Tags; buckets: Map<number, Map<string, [number, number, number]>> }>();
  for (const line of text.split('\n')) {
    const parsed = parseLine(line, q.measurement);
    if (!parsed) continue;
    const { e, field, tags, key } = parsed;
    let s = series.get(key);
    if (!s) series.set(key, (s = { tags, buckets: new Map() }));
    const ts = e.timestamps;
    for (let i = 0; i < ts.length; i++) {
      const v = e.values[i];
      const t = ts[i]!;
      // A sample repeated at the same time counts once, its last value (as one point would).
      if (typeof v !== 'number' || (ts[i + 1] === t && typeof e.values[i + 1] === 'number')) continue;
      const b = Math.floor(t / step) * step;
      let fields = s.buckets.get(b);
      if (!fields) s.buckets.set(b, (fields = new Map()));
      const a = fields.get(field);
      if (!a) fields.set(field, [v, 1, t]);
      else {
        a[1]++;
        if (agg === 'mean') a[0] += v;
        else if (agg === 'max') a[0] = Math.max(a[0], v);
        else if (agg === 'min') a[0] = Math.min(a[0], v);
        else if (t >= a[2]) {
          a[0] = v;
          a[2] = t;
        }
      }
    }
  }
  const out: Point[] = [];
  for (const s of series.values()) {
    for (const [time, fields] of s.buckets) {
      const f: Record<string, FieldValue> = {};
      for (const [name, [v, n]] of fields) f[name] = agg === 'mean' ? v / n : v;
      out.push({ measurement: q.measurement, tags: s.tags, fields: f, time });
    }
  }
  return out.sort((a, b) => a.time - b.time);
}
