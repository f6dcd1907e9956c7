// A report straight to line protocol for the InfluxDB / VictoriaMetrics sink: the Redis samples'
// rows (the redis point, replicas, keyspace, cmdstat, latency, errorstat, slowlog: ~26 per sample)
// are written from the samples, with no Point object per row; the escaped tags of a sample are
// worked out once and each row's own tag is put in its sorted place. The rest of the report (host,
// proxies, events, ...) goes through points.ts as before. The lines are the ones
// encodeLines(reportPoints(report)) writes, up to the order of the fields in a line
// (test/form2.test.ts checks it on the real capture in both report forms).
import {
  REDIS_FIELD_INDEX,
  REDIS_FIELD_NAMES,
  sampleColumns,
  valueOf,
  type FieldType,
  type RedisSample,
  type Report,
  type SampleColumns,
} from '../proto/index.js';
import { encodeText, escKeyCached, escMeasurement, tagsText, valueText, type EncodedLines } from './line-protocol.js';
import {
  CMDSTAT_KEYS,
  ERRORSTAT_KEYS,
  HEADROOM_KEYS,
  KEYSPACE_KEYS,
  LATENCY_KEYS,
  M,
  RATE_KEYS,
  REPLICA_KEYS,
  SLOWLOG_KEYS,
  cleanTag,
  coerce,
  hostTags,
  instanceTags,
  reportPoints,
  slowlogCommand,
  slowlogTime,
  withTag,
  type PointSource,
  type Tags,
} from './points.js';

/** One field of a row: where its value is read, `key=` escaped once, and its pinned type. */
interface Column {
  key: string;
  prefix: string;
  type: FieldType;
}

function columns(def: (typeof M)[keyof typeof M], keys: [string, string][]): Column[] {
  return keys.map(([name, key]) => ({ key, prefix: `${escKeyCached(name)}=`, type: def.fields[name]!.type }));
}

/** A row measurement: its escaped name and columns. */
const ROWS = {
  replica: { name: escMeasurement(M.replica.name), cols: columns(M.replica, REPLICA_KEYS) },
  keyspace: { name: escMeasurement(M.keyspace.name), cols: columns(M.keyspace, KEYSPACE_KEYS) },
  cmdstat: { name: escMeasurement(M.cmdstat.name), cols: columns(M.cmdstat, CMDSTAT_KEYS) },
  latency: { name: escMeasurement(M.latency.name), cols: columns(M.latency, LATENCY_KEYS) },
  errorstat: { name: escMeasurement(M.errorstat.name), cols: columns(M.errorstat, ERRORSTAT_KEYS) },
  slowlog: { name: escMeasurement(M.slowlog.name), cols: columns(M.slowlog, SLOWLOG_KEYS) },
};
const REDIS_NAME = escMeasurement(M.redis.name);

/** A row's fields, `k=v,...` ('' when none can be written). */
function rowFields(cols: Column[], row: object): string {
  const o = row as Record<string, unknown>;
  let f = '';
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]!;
    const v = coerce(c.type, o[c.key]);
    if (v === undefined) continue;
    f = f ? `${f},${c.prefix}${valueText(c.type, v)}` : c.prefix + valueText(c.type, v);
  }
  return f;
}

/** One sample's tags, escaped and sorted once; a row adds its own tag in its sorted place. */
class SampleTags {
  readonly text: string;
  private readonly keys: string[];
  private readonly parts: string[];
  private readonly splits = new Map<string, [string, string]>();

  constructor(readonly tags: Tags) {
    this.keys = Object.keys(tags).sort();
    this.parts = this.keys.map((k) => (tags[k] === '' ? '' : `,${escKeyCached(k)}=${escKeyCached(tags[k]!)}`));
    this.text = this.parts.join('');
  }

  /** The tags with `name` set to `raw` (cleaned like every tag; left out when empty). */
  with(name: string, raw: string | undefined): string {
    if (Object.hasOwn(this.tags, name)) return tagsText(withTag(this.tags, name, raw));
    const v = cleanTag(raw);
    if (!v) return this.text;
    let sp = this.splits.get(name);
    if (!sp) {
      let at = 0;
      while (at < this.keys.length && this.keys[at]! < name) at++;
      sp = [this.parts.slice(0, at).join(''), this.parts.slice(at).join('')];
      this.splits.set(name, sp);
    }
    return `${sp[0]},${escKeyCached(name)}=${escKeyCached(v)}${sp[1]}`;
  }
}

/** A redis field: `key=` escaped once, its pinned type (null: unlisted, a float when it is a number), and whether points.ts may set it after INFO. */
interface RedisColumn {
  prefix: string;
  type: FieldType | null;
  late: boolean;
}

/** The fields points.ts sets after INFO's (so their value wins over an INFO field of the same name). */
const LATE = new Set([
  'up',
  'error',
  'maxmemory',
  'maxclients',
  'unavailable',
  ...RATE_KEYS.map(([n]) => n),
  ...HEADROOM_KEYS.map(([n]) => n),
]);

// INFO names repeat on every sample; bounded: unlisted names come from agents.
const REDIS_CACHE_MAX = 10_000;
const redisColumns = new Map<string, RedisColumn>();
function redisColumn(k: string): RedisColumn {
  let c = redisColumns.get(k);
  if (c === undefined) {
    const fd = M.redis.fields[k];
    c = { prefix: `${escKeyCached(k)}=`, type: fd ? fd.type : null, late: LATE.has(k) };
    if (redisColumns.size < REDIS_CACHE_MAX) redisColumns.set(k, c);
  }
  return c;
}
const UNLISTED_AS_FLOAT = M.redis.otherNumericFields === 'float';

/** `k=v` of one redis field as points.ts put() and pointLine() write it, or '' when it is not written. */
function redisField(c: RedisColumn, v: unknown): string {
  if (c.type === null) return UNLISTED_AS_FLOAT && typeof v === 'number' && Number.isFinite(v) ? c.prefix + String(v) : '';
  const x = coerce(c.type, v);
  return x === undefined ? '' : c.prefix + valueText(c.type, x);
}

// A form-2 sample's INFO straight from its columns (no INFO map): a schema field's column by its index.
const INDEX_COLUMNS = REDIS_FIELD_NAMES.map((name) => redisColumn(name));
const seenAt = new Uint32Array(INDEX_COLUMNS.length);
let seenStamp = 0;
// An object puts array-index keys before the others: such an INFO name would move in the map's order.
const INDEX_LIKE = /^(0|[1-9][0-9]*)$/;
const ORDER_SAFE = !REDIS_FIELD_NAMES.some((n) => INDEX_LIKE.test(n));

/**
 * The INFO fields of `c` into `parts`, in the order (and with the values) the INFO map built
 * from `c` (proto/form2-reader.ts infoOf) would give them; false when that map would differ
 * from the columns (a name twice, an array-index or `__proto__` name): the map is used then.
 */
function columnFields(c: SampleColumns, lateSet: ReadonlySet<string>, parts: string[]): boolean {
  if (!ORDER_SAFE) return false;
  if (++seenStamp === 0xffff_ffff) {
    seenAt.fill(0);
    seenStamp = 1;
  }
  const stamp = seenStamp;
  const indexed = (keys: number[], values: (number | string)[]): boolean => {
    const n = Math.min(keys.length, values.length);
    for (let j = 0; j < n; j++) {
      const i = keys[j]!;
      if (i >= INDEX_COLUMNS.length) continue;
      if (seenAt[i] === stamp) return false;
      seenAt[i] = stamp;
      const col = INDEX_COLUMNS[i]!;
      if (col.late && lateSet.has(REDIS_FIELD_NAMES[i]!)) continue;
      const t = redisField(col, values[j]);
      if (t) parts.push(t);
    }
    return true;
  };
  if (!indexed(c.intIndex, c.intValue) || !indexed(c.floatIndex, c.floatValue) || !indexed(c.strIndex, c.strValue)) return false;
  if (!c.otherIntName.length && !c.otherFloatName.length && !c.otherStrName.length) return true;
  const named = new Set<string>();
  const other = (names: string[], values: (number | string)[]): boolean => {
    const n = Math.min(names.length, values.length);
    for (let j = 0; j < n; j++) {
      const k = names[j]!;
      if (named.has(k) || REDIS_FIELD_INDEX.has(k) || k === '__proto__' || INDEX_LIKE.test(k)) return false;
      named.add(k);
      const col = redisColumn(k);
      if (col.late && lateSet.has(k)) continue;
      const t = redisField(col, values[j]);
      if (t) parts.push(t);
    }
    return true;
  };
  return other(c.otherIntName, c.otherIntValue) && other(c.otherFloatName, c.otherFloatValue) && other(c.otherStrName, c.otherStrValue);
}

/** The redis point's fields: INFO, then what points.ts sets after it (it wins over an INFO field of the same name). */
function redisFields(s: RedisSample): string {
  const late: string[] = [];
  const lateSet = new Set<string>();
  const set = (name: string, v: unknown) => {
    const t = redisField(redisColumn(name), v);
    if (!t) return;
    lateSet.add(name);
    late.push(t);
  };
  set('up', s.up ? 1 : 0);
  set('error', s.error);
  if (s.maxmemory >= 0) set('maxmemory', s.maxmemory);
  if (s.maxclients >= 0) set('maxclients', s.maxclients);
  if (s.rates?.valid) for (const [name, key] of RATE_KEYS) set(name, (s.rates as unknown as Record<string, unknown>)[key]);
  if (s.headroom?.limitSource) for (const [name, key] of HEADROOM_KEYS) set(name, (s.headroom as unknown as Record<string, unknown>)[key]);
  set('unavailable', s.unavailable.join(','));

  // Joined at once: a flat string, not a rope of a few hundred pieces to flatten later.
  const parts: string[] = [];
  const columns = sampleColumns(s);
  if (columns && columnFields(columns, lateSet, parts)) {
    for (const t of late) parts.push(t);
    return parts.join(',');
  }
  parts.length = 0;
  const info = s.info;
  for (const k in info) {
    const c = redisColumn(k);
    if (c.late && lateSet.has(k)) continue;
    const t = redisField(c, valueOf(info[k]));
    if (t) parts.push(t);
  }
  for (const t of late) parts.push(t);
  return parts.join(',');
}

/** Appends one sample's lines to `out.text`; counts them in `out.points`. */
function sampleLines(s: RedisSample, base: Tags, reportTime: number, out: { text: string; points: number }): void {
  const time = Math.trunc(s.sampledAtMs || reportTime);
  const tags = new SampleTags(instanceTags(base, s));
  let text = out.text;
  let n = 0;
  const line = (name: string, tagText: string, fields: string, at: number) => {
    if (!fields) return;
    text += `${name}${tagText} ${fields} ${at}\n`;
    n++;
  };
  line(REDIS_NAME, tags.text, redisFields(s), time);
  for (const r of s.replicas) {
    const rt = withTag(withTag(tags.tags, 'replica', `${r.ip}:${r.port}`), 'state', r.state);
    line(ROWS.replica.name, tagsText(rt), rowFields(ROWS.replica.cols, r), time);
  }
  for (const k of s.keyspace) line(ROWS.keyspace.name, tags.with('db', k.db), rowFields(ROWS.keyspace.cols, k), time);
  for (const c of s.commandstats) line(ROWS.cmdstat.name, tags.with('command', c.command), rowFields(ROWS.cmdstat.cols, c), time);
  for (const l of s.latencystats) line(ROWS.latency.name, tags.with('command', l.command), rowFields(ROWS.latency.cols, l), time);
  for (const e of s.errorstats) line(ROWS.errorstat.name, tags.with('error', e.error), rowFields(ROWS.errorstat.cols, e), time);
  for (const e of s.slowlog)
    line(
      ROWS.slowlog.name,
      tags.with('command_name', slowlogCommand(e.command)),
      rowFields(ROWS.slowlog.cols, e),
      Math.trunc(slowlogTime(e)),
    );
  out.text = text;
  out.points += n;
}

/** Every point of one report as line protocol (what encodeLines(reportPoints(report, src)) writes). */
export function reportLines(report: Report, src: PointSource): EncodedLines {
  const out = encodeText(reportPoints(report, src, [], { skipRedis: true }));
  const base = hostTags(src);
  for (const s of report.redis) sampleLines(s, base, report.timestampMs, out);
  return { lines: Buffer.from(out.text), points: out.points };
}
