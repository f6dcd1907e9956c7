// A report straight to line protocol for the InfluxDB / VictoriaMetrics sink: the Redis samples'
// rows (the redis point, replicas, keyspace, cmdstat, latency, errorstat, slowlog: ~26 per sample)
// are written from the samples as bytes (line-buffer.ts), with no Point object per row and, for a
// form-2 sample, no INFO map or row objects either: its columns are read directly. The escaped
// tags of a sample are worked out once and each row's own tag is put in its sorted place. The rest of the report (host,
// proxies, events, ...) goes through points.ts as before. The lines are the ones
// encodeLines(reportPoints(report)) writes, up to the order of the fields in a line
// (test/form2.test.ts checks it on the real capture in both report forms).
import {
  CMD_ROWS,
  INFO_FLOAT,
  INFO_INT,
  INFO_STR,
  InfoCursor,
  KeysMemo,
  LAT_ROWS,
  OTHER_FLOAT,
  OTHER_INT,
  OTHER_STR,
  REDIS_FIELD_INDEX,
  REDIS_FIELD_NAMES,
  RowCursor,
  openInfo,
  openRows,
  utf8Text,
  valueOf,
  type FieldType,
  type RedisSample,
  type ReplicaInfo,
  type Report,
} from '../proto/index.js';
import { encodeText, escKeyCached, escMeasurement, escString, tagsText, type EncodedLines } from './line-protocol.js';
import { FieldKey, LineBuffer } from './line-buffer.js';
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
  keptInstanceTags,
  reportPoints,
  slowlogCommand,
  slowlogTime,
  withTag,
  type FieldValue,
  type PointSource,
  type Tags,
} from './points.js';

/** One field of a row: where its value is read, `,key=` escaped once (as bytes), and its pinned type. */
interface Column {
  key: string;
  prefix: FieldKey;
  type: FieldType;
}

const prefixOf = (name: string): FieldKey => new FieldKey(Buffer.from(`,${escKeyCached(name)}=`));

function columns(def: (typeof M)[keyof typeof M], keys: [string, string][]): Column[] {
  return keys.map(([name, key]) => ({ key, prefix: prefixOf(name), type: def.fields[name]!.type }));
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

const SPACE = 0x20;
const NEWLINE = 0x0a;
const QUOTE = 0x22;

/** `,key=value` of a value coerce() accepted for `type`. */
function putField(w: LineBuffer, prefix: FieldKey, type: FieldType, v: FieldValue): void {
  if (type === 'int') w.intField(prefix, v as number);
  else if (type === 'float') w.floatField(prefix, v as number);
  else {
    w.field(prefix);
    w.byte(QUOTE);
    w.text(escString(String(v)));
    w.byte(QUOTE);
  }
}

/** `,key=value` of a row field, or nothing when the value cannot be written (pointLine's rules). */
function rowField(w: LineBuffer, c: Column, v: unknown): void {
  const x = coerce(c.type, v);
  if (x !== undefined) putField(w, c.prefix, c.type, x);
}

/**
 * A line's measurement and tags (the sample's, with the row's own tag `tag` = `raw` when given);
 * its fields follow, each after a comma. endLine() turns the first comma into the space before
 * the fields, or takes the line back when it got none.
 */
function startLine(w: LineBuffer, name: string, tags: SampleTags, tag?: string, raw?: string): number {
  w.text(name);
  if (tag === undefined) w.text(tags.text);
  else tags.write(w, tag, raw);
  return w.length;
}

function endLine(w: LineBuffer, lineAt: number, fieldsAt: number, time: number): number {
  if (w.length === fieldsAt) {
    w.length = lineAt;
    return 0;
  }
  w.set(fieldsAt, SPACE);
  w.bytes(timeBytes(time));
  return 1;
}

// ` time\n` of the last time written: every row of a sample has its time.
let lastTime = Number.NaN;
let lastTimeBytes: Buffer = Buffer.alloc(0);
const timeWriter = new LineBuffer(64);
function timeBytes(time: number): Buffer {
  if (time !== lastTime) {
    timeWriter.length = 0;
    timeWriter.byte(SPACE);
    timeWriter.integer(time);
    timeWriter.byte(NEWLINE);
    lastTimeBytes = timeWriter.copy(0);
    lastTime = time;
  }
  return lastTimeBytes;
}

/** A row measurement's line from a row object. */
function objectRow(
  w: LineBuffer,
  name: string,
  tags: SampleTags,
  tag: string,
  raw: string,
  cols: Column[],
  row: object,
  time: number,
): number {
  const lineAt = w.length;
  const fieldsAt = startLine(w, name, tags, tag, raw);
  const o = row as Record<string, unknown>;
  for (let i = 0; i < cols.length; i++) rowField(w, cols[i]!, o[cols[i]!.key]);
  return endLine(w, lineAt, fieldsAt, time);
}

/** Where each column of a row measurement is in a form-2 sample's per-command numbers (form2-reader commandstatsOf / latencystatsOf), or null. */
function numberColumns(cols: Column[], keys: string[]): number[] | null {
  const at = cols.map((c) => keys.indexOf(c.key));
  return at.includes(-1) ? null : at;
}
const CMDSTAT_AT = numberColumns(ROWS.cmdstat.cols, ['calls', 'usec', 'usecPerCall', 'rejectedCalls', 'failedCalls']);
const LATENCY_AT = numberColumns(ROWS.latency.cols, ['p50', 'p99', 'p999']);

/** The current row of a form-2 sample's per-command rows (each number written as rowField would). */
function cursorRow(w: LineBuffer, m: CursorRows, head: RowHead | undefined, rows: RowCursor, tags: SampleTags, time: number): number {
  const lineAt = w.length;
  const b = rows.bytes;
  const start = rows.at[0]!;
  const end = rows.at[1]!;
  if (head !== undefined && start !== end && plainTagBytes(b, start, end)) {
    w.bytes(head.before);
    w.range(b, start, end);
    w.bytes(head.after);
  } else {
    w.text(m.name);
    tags.writeBytes(w, 'command', b, start, end);
  }
  const fieldsAt = w.length;
  const { cols, at } = m;
  for (let i = 0; i < cols.length; i++) numberField(w, cols[i]!.prefix, cols[i]!.type, rows.num, at[i]!);
  return endLine(w, lineAt, fieldsAt, time);
}

/** A per-command row measurement read from a form-2 sample: its name, columns and where each column's number is in RowCursor.num. */
interface CursorRows {
  name: string;
  cols: Column[];
  at: number[];
}
const CMDSTAT_ROWS: CursorRows | null = CMDSTAT_AT && { ...ROWS.cmdstat, at: CMDSTAT_AT };
const LATENCY_ROWS: CursorRows | null = LATENCY_AT && { ...ROWS.latency, at: LATENCY_AT };

/** `,key=value` of `values[i]`, a number read from a form-2 sample's bytes: putField(coerce(type, v)) without boxing it (LineBuffer.intFieldAt). */
function numberField(w: LineBuffer, prefix: FieldKey, type: FieldType, values: Float64Array, i: number): void {
  if (type === 'string') {
    const x = coerce(type, values[i]);
    if (x !== undefined) putField(w, prefix, type, x);
    return;
  }
  if (!Number.isFinite(values[i])) return;
  if (type === 'int') w.intFieldAt(prefix, values, i);
  else w.floatFieldAt(prefix, values, i);
}

/** A per-command row's bytes before its command name and after it (SampleTags.rowHead). */
interface RowHead {
  before: Buffer;
  after: Buffer;
}

/** One sample's tags, escaped and sorted once; a row adds its own tag in its sorted place. */
class SampleTags {
  readonly text: string;
  private readonly keys: string[];
  private readonly parts: string[];
  /** Per row tag: the tags before it, `,name=`, and the tags after it, as bytes. */
  private readonly splits = new Map<string, [Buffer, Buffer, Buffer]>();
  private readonly replicas: { ip: string; port: number; state: string; head: Buffer }[] = [];
  private readonly keyspaces = new Map<string, Buffer>();
  /** The redis line's measurement and tags. */
  readonly redisHead: Buffer;
  private readonly rowHeads = new Map<string, RowHead | undefined>();

  constructor(readonly tags: Tags) {
    this.keys = Object.keys(tags).sort();
    this.parts = this.keys.map((k) => (tags[k] === '' ? '' : `,${escKeyCached(k)}=${escKeyCached(tags[k]!)}`));
    this.text = this.parts.join('');
    this.redisHead = Buffer.from(REDIS_NAME + this.text);
  }

  /** The tags with `name` set to `raw` (cleaned like every tag; left out when empty), into `w`. */
  write(w: LineBuffer, name: string, raw: string | undefined): void {
    if (Object.hasOwn(this.tags, name)) {
      w.text(tagsText(withTag(this.tags, name, raw)));
      return;
    }
    const v = cleanTag(raw);
    if (!v) {
      w.text(this.text);
      return;
    }
    const sp = this.split(name);
    w.bytes(sp[0]);
    w.bytes(sp[1]);
    w.text(escKeyCached(v));
    w.bytes(sp[2]);
  }

  /** Replica row `row`'s measurement and tags (the sample's, with `replica` and `state`), kept per row while its replica and state stay. */
  replicaHead(row: number, r: ReplicaInfo): Buffer {
    const kept = this.replicas[row];
    if (kept !== undefined && kept.ip === r.ip && kept.port === r.port && kept.state === r.state) return kept.head;
    const head = Buffer.from(ROWS.replica.name + tagsText(withTag(withTag(this.tags, 'replica', `${r.ip}:${r.port}`), 'state', r.state)));
    if (row < KEPT_HEADS_MAX && row <= this.replicas.length) this.replicas[row] = { ip: r.ip, port: r.port, state: r.state, head };
    return head;
  }

  /** A keyspace row's measurement and tags (the sample's, with `db`), kept per db. */
  keyspaceHead(w: LineBuffer, db: string): Buffer {
    let t = this.keyspaces.get(db);
    if (t === undefined) {
      const at = w.length;
      startLine(w, ROWS.keyspace.name, this, 'db', db);
      t = w.copy(at);
      w.length = at;
      if (this.keyspaces.size < KEPT_HEADS_MAX) this.keyspaces.set(db, t);
    }
    return t;
  }

  /**
   * A per-command row's head around its command name: the measurement and the tags before
   * `command=` (with it), and the tags after; undefined when the sample has a `command` tag itself.
   * Two pieces per instance and measurement instead of a head per row: a head per row made the
   * line a copy shorter but kept ~4 KB an instance (docs/benchmarks.md, "Fleet size").
   */
  rowHead(measurement: string): RowHead | undefined {
    if (this.rowHeads.has(measurement)) return this.rowHeads.get(measurement);
    let head: RowHead | undefined;
    if (!Object.hasOwn(this.tags, 'command')) {
      const sp = this.split('command');
      head = { before: Buffer.concat([Buffer.from(measurement), sp[0], sp[1]]), after: sp[2] };
    }
    this.rowHeads.set(measurement, head);
    return head;
  }

  /** write() of the UTF-8 text in `b` from `start` to `end`: a plain one (nothing cleanTag or escaping would change) is copied as it is. */
  writeBytes(w: LineBuffer, name: string, b: Buffer, start: number, end: number): void {
    if (start === end || !plainTagBytes(b, start, end) || Object.hasOwn(this.tags, name)) {
      this.write(w, name, utf8Text(b, start, end));
      return;
    }
    const sp = this.split(name);
    w.bytes(sp[0]);
    w.bytes(sp[1]);
    w.range(b, start, end);
    w.bytes(sp[2]);
  }

  private split(name: string): [Buffer, Buffer, Buffer] {
    let sp = this.splits.get(name);
    if (!sp) {
      let at = 0;
      while (at < this.keys.length && this.keys[at]! < name) at++;
      sp = [
        Buffer.from(this.parts.slice(0, at).join('')),
        Buffer.from(`,${escKeyCached(name)}=`),
        Buffer.from(this.parts.slice(at).join('')),
      ];
      this.splits.set(name, sp);
    }
    return sp;
  }
}

// Replica and keyspace heads kept per instance.
const KEPT_HEADS_MAX = 64;

/** Printable ASCII but the characters a tag value escapes (`,` `=` space and `\`): cleanTag and escKeyCached leave it as it is. */
function plainTagBytes(b: Buffer, start: number, end: number): boolean {
  for (let p = start; p < end; p++) {
    const c = b[p]!;
    if (c <= 0x20 || c >= 0x7f || c === 0x2c || c === 0x3d || c === 0x5c) return false;
  }
  return true;
}

/** A redis field: `,key=` escaped once (as bytes), its pinned type (null: unlisted, a float when it is a number), and whether points.ts may set it after INFO. */
interface RedisColumn {
  prefix: FieldKey;
  type: FieldType | null;
  /** Its place among the fields points.ts may set after INFO, or -1. */
  late: number;
}

/** The fields points.ts sets after INFO's (so their value wins over an INFO field of the same name). */
const LATE = [
  ...new Set(['up', 'error', 'maxmemory', 'maxclients', 'unavailable', ...RATE_KEYS.map(([n]) => n), ...HEADROOM_KEYS.map(([n]) => n)]),
];

// INFO names repeat on every sample; bounded: unlisted names come from agents.
const REDIS_CACHE_MAX = 10_000;
const redisColumns = new Map<string, RedisColumn>();
function redisColumn(k: string): RedisColumn {
  let c = redisColumns.get(k);
  if (c === undefined) {
    const fd = M.redis.fields[k];
    c = { prefix: prefixOf(k), type: fd ? fd.type : null, late: LATE.indexOf(k) };
    if (redisColumns.size < REDIS_CACHE_MAX) redisColumns.set(k, c);
  }
  return c;
}
const UNLISTED_AS_FLOAT = M.redis.otherNumericFields === 'float';

/** A redis field's value as points.ts put() and pointLine() write it, or undefined when it is not written. */
function redisValue(c: RedisColumn, v: unknown): FieldValue | undefined {
  if (c.type !== null) return coerce(c.type, v);
  return UNLISTED_AS_FLOAT && typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** `,key=value` of one redis field, or nothing when it is not written. */
function redisField(w: LineBuffer, c: RedisColumn, v: unknown): void {
  const x = redisValue(c, v);
  if (x !== undefined) putField(w, c.prefix, c.type ?? 'float', x);
}

// A form-2 sample's INFO straight from its columns (no INFO map): a schema field's column by its index.
const INDEX_COLUMNS = REDIS_FIELD_NAMES.map((name) => redisColumn(name));
const seenAt = new Uint32Array(INDEX_COLUMNS.length);
let seenStamp = 0;
// An object puts array-index keys before the others: such an INFO name would move in the map's order.
const INDEX_LIKE = /^(0|[1-9][0-9]*)$/;
const ORDER_SAFE = !REDIS_FIELD_NAMES.some((n) => INDEX_LIKE.test(n));

const infoCursor = new InfoCursor(true);

/**
 * A form-2 sample's INFO fields into `w` straight from its bytes, in the order (and with the
 * values) its INFO map (proto/form2-reader.ts infoOf) would give them; false when that map would
 * differ from the columns (a name twice, an array-index or `__proto__` name) or the sample has no
 * layout: the map is used then.
 */
function cursorFields(s: RedisSample, w: LineBuffer): boolean {
  if (!ORDER_SAFE) return false;
  if (++seenStamp === 0xffff_ffff) {
    seenAt.fill(0);
    seenStamp = 1;
  }
  const stamp = seenStamp;
  if (!indexedFields(w, s, INFO_INT, stamp) || !indexedFields(w, s, INFO_FLOAT, stamp) || !indexedFields(w, s, INFO_STR, stamp))
    return false;
  const other = ++otherStamp;
  return (
    otherFields(w, s, OTHER_INT, otherNames[0], other) &&
    otherFields(w, s, OTHER_FLOAT, otherNames[1], other) &&
    otherFields(w, s, OTHER_STR, otherNames[2], other)
  );
}

/** cursorFields of one column by schema index (INFO_INT, INFO_FLOAT, INFO_STR); false when the INFO map is to be used. */
function indexedFields(w: LineBuffer, s: RedisSample, column: number, stamp: number): boolean {
  const cur = infoCursor;
  if (!openInfo(cur, s, column)) return false;
  while (cur.next()) {
    const i = cur.key;
    if (i >= INDEX_COLUMNS.length) continue;
    if (seenAt[i] === stamp) return false;
    seenAt[i] = stamp;
    const col = INDEX_COLUMNS[i]!;
    if (col.late >= 0 && lateSetAt[col.late] === lateStamp) continue;
    if (column !== INFO_STR) redisNumber(w, col, cur.columnValues, cur.index);
    else if (col.type !== 'string' || !w.quoted(col.prefix, cur.bytes, cur.at[0]!, cur.at[1]!)) redisField(w, col, cur.text());
  }
  return true;
}

/** cursorFields of one by-name column (OTHER_*); false when the INFO map is to be used. */
function otherFields(w: LineBuffer, s: RedisSample, column: number, memo: KeysMemo<OtherName[]>, stamp: number): boolean {
  const cur = infoCursor;
  openInfo(cur, s, column);
  const known = memo.get(cur);
  const names = known ?? [];
  for (let j = 0; cur.next(); j++) {
    const name = known ? known[j]! : (names[j] = otherName(cur.name()));
    if (name.refused || name.seen === stamp) return false;
    name.seen = stamp;
    const col = name.col;
    if (col.late >= 0 && lateSetAt[col.late] === lateStamp) continue;
    // An unindexed name has no pinned type (a schema name is refused): its strings are not written (redisValue).
    if (column !== OTHER_STR) redisNumber(w, col, cur.columnValues, cur.index);
  }
  if (!known) memo.set(cur, names);
  return true;
}

/** redisField of `values[i]` without boxing it: a pinned type as numberField, an unlisted number as a float (redisValue). */
function redisNumber(w: LineBuffer, col: RedisColumn, values: Float64Array, i: number): void {
  if (col.type !== null) numberField(w, col.prefix, col.type, values, i);
  else if (UNLISTED_AS_FLOAT && Number.isFinite(values[i])) w.floatFieldAt(col.prefix, values, i);
}

/** An INFO name outside the schema index: its column, and whether the INFO map could reorder or drop it (the map is used then). */
interface OtherName {
  col: RedisColumn;
  refused: boolean;
  /** otherStamp of the sample that last named it (a name twice: the map is used). */
  seen: number;
}
let otherStamp = 0;
const otherNameCache = new Map<string, OtherName>();

function otherName(k: string): OtherName {
  let n = otherNameCache.get(k);
  if (!n) {
    // Past the bound a name is not kept, and so could not be told twice in a sample: the map is used for it.
    const full = otherNameCache.size >= REDIS_CACHE_MAX;
    n = { col: redisColumn(k), refused: full || REDIS_FIELD_INDEX.has(k) || k === '__proto__' || INDEX_LIKE.test(k), seen: 0 };
    if (!full) otherNameCache.set(k, n);
  }
  return n;
}

// The names of each by-name column as the last sample sent them (KeysMemo).
const otherNames = [new KeysMemo<OtherName[]>(), new KeysMemo<OtherName[]>(), new KeysMemo<OtherName[]>()] as const;

/** The redis line's fields: INFO, then what points.ts sets after it (it wins over an INFO field of the same name). */
function redisFields(s: RedisSample, w: LineBuffer): void {
  const late = lateColumns;
  late.length = lateTexts.length = 0;
  if (++lateStamp === 0xffff_ffff) {
    lateSetAt.fill(0);
    lateStamp = 1;
  }
  const set = setLate;
  set('up', s.up ? 1 : 0);
  set('error', s.error);
  if (s.maxmemory >= 0) set('maxmemory', s.maxmemory);
  if (s.maxclients >= 0) set('maxclients', s.maxclients);
  if (s.rates?.valid) for (const [name, key] of RATE_KEYS) set(name, (s.rates as unknown as Record<string, unknown>)[key]);
  if (s.headroom?.limitSource) for (const [name, key] of HEADROOM_KEYS) set(name, (s.headroom as unknown as Record<string, unknown>)[key]);
  set('unavailable', s.unavailable.join(','));

  const at = w.length;
  if (!cursorFields(s, w)) {
    w.length = at;
    const info = s.info;
    for (const k in info) {
      const c = redisColumn(k);
      if (c.late >= 0 && lateSetAt[c.late] === lateStamp) continue;
      redisField(w, c, valueOf(info[k]));
    }
  }
  for (let i = 0; i < late.length; i++) {
    const c = late[i]!;
    const text = lateTexts[i];
    if (text !== undefined) putField(w, c.prefix, 'string', text);
    else if (c.type === 'int') w.intFieldAt(c.prefix, lateNumbers, i);
    else w.floatFieldAt(c.prefix, lateNumbers, i);
  }
}

/** A field points.ts sets after INFO, for redisFields to write after INFO's. */
function setLate(name: string, v: unknown): void {
  const c = redisColumn(name);
  const x = redisValue(c, v);
  if (x === undefined) return;
  if (c.late >= 0) lateSetAt[c.late] = lateStamp;
  const i = lateColumns.length;
  lateColumns.push(c);
  if (typeof x === 'string') lateTexts[i] = x;
  else {
    lateTexts[i] = undefined;
    lateNumbers[i] = x;
  }
}

// What points.ts sets after INFO, per sample (reused: a sample's lines are written start to end):
// each one's column and its text, or its number (kept unboxed; LATE names each of them once).
const lateColumns: RedisColumn[] = [];
const lateTexts: (string | undefined)[] = [];
const lateNumbers = new Float64Array(LATE.length);
// Which of them this sample set: lateSetAt[late] === lateStamp.
const lateSetAt = new Uint32Array(LATE.length);
let lateStamp = 0;

// A kept instance's tags object (points.ts) is replaced when its role, cluster or group change:
// its escaped, sorted form is kept beside it.
const escapedTags = new WeakMap<Tags, SampleTags>();

function sampleTags(src: PointSource, s: RedisSample): SampleTags {
  const tags = keptInstanceTags(src, s);
  let t = escapedTags.get(tags);
  if (!t) escapedTags.set(tags, (t = new SampleTags(tags)));
  return t;
}

/** Writes one sample's lines; returns how many. */
function sampleLines(s: RedisSample, src: PointSource, reportTime: number, w: LineBuffer): number {
  const time = Math.trunc(s.sampledAtMs || reportTime);
  const tags = sampleTags(src, s);
  let n = 0;

  let lineAt = w.length;
  w.bytes(tags.redisHead);
  let fieldsAt = w.length;
  redisFields(s, w);
  n += endLine(w, lineAt, fieldsAt, time);

  for (let i = 0; i < s.replicas.length; i++) {
    const r = s.replicas[i]!;
    lineAt = w.length;
    w.bytes(tags.replicaHead(i, r));
    fieldsAt = w.length;
    const o = r as unknown as Record<string, unknown>;
    for (const c of ROWS.replica.cols) rowField(w, c, o[c.key]);
    n += endLine(w, lineAt, fieldsAt, time);
  }
  for (const k of s.keyspace) {
    lineAt = w.length;
    w.bytes(tags.keyspaceHead(w, k.db));
    fieldsAt = w.length;
    const o = k as unknown as Record<string, unknown>;
    for (const c of ROWS.keyspace.cols) rowField(w, c, o[c.key]);
    n += endLine(w, lineAt, fieldsAt, time);
  }
  const rows = rowCursor;
  if (CMDSTAT_ROWS && openRows(rows, s, CMD_ROWS)) {
    const head = tags.rowHead(CMDSTAT_ROWS.name);
    while (rows.next()) n += cursorRow(w, CMDSTAT_ROWS, head, rows, tags, time);
  } else for (const c of s.commandstats) n += objectRow(w, ROWS.cmdstat.name, tags, 'command', c.command, ROWS.cmdstat.cols, c, time);
  if (LATENCY_ROWS && openRows(rows, s, LAT_ROWS)) {
    const head = tags.rowHead(LATENCY_ROWS.name);
    while (rows.next()) n += cursorRow(w, LATENCY_ROWS, head, rows, tags, time);
  } else for (const l of s.latencystats) n += objectRow(w, ROWS.latency.name, tags, 'command', l.command, ROWS.latency.cols, l, time);
  for (const e of s.errorstats) n += objectRow(w, ROWS.errorstat.name, tags, 'error', e.error, ROWS.errorstat.cols, e, time);
  for (const e of s.slowlog)
    n += objectRow(w, ROWS.slowlog.name, tags, 'command_name', slowlogCommand(e.command), ROWS.slowlog.cols, e, Math.trunc(slowlogTime(e)));
  return n;
}

const rowCursor = new RowCursor();

// One writer for every report: reportLines runs start to end without yielding.
const lineBuffer = new LineBuffer();

/**
 * Gives back the lines of a report once nothing reads them (sent, or copied to the spool): their
 * slab is written again (line-buffer.ts). Lines not from reportLines() are ignored.
 */
export function releaseLines(lines: Buffer): void {
  lineBuffer.release(lines);
}

/** Every point of one report as line protocol (what encodeLines(reportPoints(report, src)) writes). */
export function reportLines(report: Report, src: PointSource): EncodedLines {
  const w = lineBuffer;
  w.length = 0;
  const head = encodeText(reportPoints(report, src, [], { skipRedis: true }));
  w.text(head.text);
  let points = head.points;
  for (const s of report.redis) points += sampleLines(s, src, report.timestampMs, w);
  return { lines: w.take(), points };
}
