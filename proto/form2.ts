// Report form 2 (proto/redisfleet/v2/redis.proto): Redis samples with INFO by schema index.
// The index is the order of the `redis` measurement's fields in proto/schema.ts; its
// fingerprint travels in Hello and in every RedisSamples, so an agent and a collector built
// from different schemas never read each other's indexes (the collector says so instead).
import {
  commandstatsOf,
  infoOf,
  latencystatsOf,
  readRedisSamples,
  readSampleBody,
  readSampleLayout,
  readSampleSpans,
  sampleOf,
  type SampleColumns,
  type SampleLayout,
} from './form2-reader.js';
import {
  INFO_FLOAT,
  INFO_INT,
  INFO_STR,
  InfoCursor,
  KeysMemo,
  OTHER_FLOAT,
  OTHER_INT,
  OTHER_STR,
  RowCursor,
  stringValueAt,
} from './form2-layout.js';
import { Form2Columns, ProtoWriter, writeForm2Sample, type Form2SampleFields } from './form2-writer.js';
import { MEASUREMENTS } from './schema.js';
import type { RedisSample, Value } from './types.js';

export { Form2Columns, type Form2SampleFields } from './form2-writer.js';
export type { SampleColumns } from './form2-reader.js';

export const REPORT_FORM_V1 = 1;
export const REPORT_FORM_V2 = 2;

/** The form-2 index: field i of the `redis` measurement is index i. */
export const REDIS_FIELD_NAMES: readonly string[] = Object.keys(MEASUREMENTS.redis!.fields);
export const REDIS_FIELD_INDEX: ReadonlyMap<string, number> = new Map(REDIS_FIELD_NAMES.map((n, i) => [n, i]));
const INDEX = REDIS_FIELD_INDEX;

/** FNV-1a 32 over `name:type\n` of every indexed field, in index order. */
export function schemaFingerprint(names: readonly string[] = REDIS_FIELD_NAMES): number {
  let h = 0x811c9dc5;
  for (const n of names) {
    const text = `${n}:${MEASUREMENTS.redis!.fields[n]?.type ?? '?'}\n`;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h >>> 0;
}
export const SCHEMA_FINGERPRINT = schemaFingerprint();

export const fingerprintText = (f: number): string => f.toString(16).padStart(8, '0');

/** A form-1 sample's INFO and per-command rows into columns (`c` is reset first). */
function columnsOf(s: RedisSample, c: Form2Columns): void {
  c.reset();
  const info = s.info;
  for (const k in info) {
    const v = info[k] as Partial<Record<'int' | 'float' | 'str', number | string>> & { kind?: string };
    const i = INDEX.get(k);
    const kind = v.kind ?? ('int' in v ? 'int' : 'float' in v ? 'float' : 'str' in v ? 'str' : '');
    if (kind === 'int') {
      if (i === undefined) c.otherInt(k, v.int as number);
      else c.int(i, v.int as number);
    } else if (kind === 'float') {
      if (i === undefined) c.otherFloat(k, v.float as number);
      else c.float(i, v.float as number);
    } else if (kind === 'str') {
      if (i === undefined) c.otherStr(k, v.str as string);
      else c.str(i, v.str as string);
    }
  }
  for (const x of s.commandstats) c.cmd(x.command, x.calls, x.usec, x.usecPerCall, x.rejectedCalls, x.failedCalls);
  for (const x of s.latencystats) c.lat(x.command, x.p50, x.p99, x.p999);
}

const sampleWriter = new ProtoWriter();
const reportWriter = new ProtoWriter(64 * 1024);
const scratch = new Form2Columns();

// Where a schema field's INFO value is in a sample's bytes: (offset << 3) | kind.
const AT_INT = 1;
const AT_FLOAT = 2;
const AT_STR = 3;
/** Also named in an unindexed column (a later column wins, as in the INFO map): ask the map. */
const AT_MAP = 4;
/** Offsets must fit beside the kind in an int32. */
const MAX_LAID_OUT_BYTES = 2 ** 28;

/** A sample body's own fields and layout, or null when it cannot be laid out (too large, or columns sent otherwise). */
function layOut(bytes: Buffer): ReturnType<typeof readSampleLayout> {
  return bytes.length < MAX_LAID_OUT_BYTES ? readSampleLayout(bytes) : null;
}

const positionCursor = new InfoCursor();

function mark(at: Int32Array, bytes: Buffer, layout: SampleLayout, column: number, kind: number): void {
  const cur = positionCursor;
  cur.open(bytes, layout, column);
  while (cur.next()) if (cur.key < at.length) at[cur.key] = (cur.valueAt << 3) | kind;
}

/** Per schema index, where its value is in a laid-out sample's bytes (0: absent), as infoOf() would name it. */
function positions(bytes: Buffer, layout: SampleLayout): Int32Array {
  const at = new Int32Array(REDIS_FIELD_NAMES.length);
  mark(at, bytes, layout, INFO_INT, AT_INT);
  mark(at, bytes, layout, INFO_FLOAT, AT_FLOAT);
  mark(at, bytes, layout, INFO_STR, AT_STR);
  const cur = positionCursor;
  for (let c = 0; c < NAMED_COLUMNS.length; c++) {
    cur.open(bytes, layout, NAMED_COLUMNS[c]!);
    let named = namedIndexes[c]!.get(cur);
    if (!named) {
      named = [];
      while (cur.next()) {
        const i = INDEX.get(cur.name());
        if (i !== undefined) named.push(i);
      }
      namedIndexes[c]!.set(cur, named);
    }
    for (const i of named) at[i] = AT_MAP;
  }
  return at;
}
const NAMED_COLUMNS = [OTHER_INT, OTHER_FLOAT, OTHER_STR];
// The schema indexes each by-name column names too, as the last sample sent it (KeysMemo).
const namedIndexes = NAMED_COLUMNS.map(() => new KeysMemo<number[]>());

// The by-name columns, the one whose value the INFO map keeps first (infoOf sets ints, floats, strings).
const LAST_WINS_FIRST = [OTHER_STR, OTHER_FLOAT, OTHER_INT];
// Names asked for outside the schema index, as UTF-8 (a few: what the collector reads by name).
const wantedNames = new Map<string, Buffer>();

/**
 * `info[name]` of a laid-out sample for a name outside the schema index: only the by-name columns
 * can hold it, and the last one wins (strings over floats over ints, as infoOf() sets them).
 */
function unindexedValue(bytes: Buffer, layout: SampleLayout, name: string): Value | undefined {
  let want = wantedNames.get(name);
  if (!want) {
    want = Buffer.from(name);
    if (wantedNames.size < 1000) wantedNames.set(name, want);
  }
  const cur = positionCursor;
  for (const column of LAST_WINS_FIRST) {
    cur.open(bytes, layout, column);
    let found: Value | undefined;
    while (cur.next()) {
      const at = cur.at;
      if (at[3]! - at[2]! !== want.length || bytes.compare(want, 0, want.length, at[2], at[3]) !== 0) continue;
      found = column === OTHER_STR ? { str: cur.text() } : column === OTHER_FLOAT ? { float: cur.num } : { int: cur.num };
    }
    if (found) return found;
  }
  return undefined;
}

/**
 * A form-2 sample: its own fields read, its INFO, commandstats and latencystats left in its bytes
 * and read when something asks: a value at a time through its layout (where each column lies,
 * form2-reader.ts readSampleLayout; cursors in form2-layout.ts), or all at once into the columns
 * and the INFO map and row objects. The agent builds one from its parse (form2Sample: bytes now),
 * the collector from a report (decodeLazySamples: laid out with the report, so a malformed one is
 * refused there; one the layout cannot take is read into columns). One INFO field is read
 * without the map through sampleInfo(). Prototype getters: a spread copy does not carry INFO
 * (plainSample(), or toJSON(), first). Not to be changed afterwards (the bytes would not follow).
 */
class Form2Sample implements RedisSample {
  address: string;
  cluster: string;
  group: string;
  up: boolean;
  error: string;
  sampledAtMs: number;
  role: string;
  replicas: RedisSample['replicas'];
  keyspace: RedisSample['keyspace'];
  errorstats: RedisSample['errorstats'];
  maxmemory: number;
  maxclients: number;
  rates: RedisSample['rates'];
  headroom: RedisSample['headroom'];
  unavailable: string[];
  slowlog: RedisSample['slowlog'];
  readonly #bytes: Buffer;
  #columns: SampleColumns | undefined;
  /** Where its columns lie in #bytes; null: they cannot be laid out (read as columns). */
  #layout: SampleLayout | null | undefined;
  #at: Int32Array | undefined;
  #info: RedisSample['info'] | undefined;
  #commandstats: RedisSample['commandstats'] | undefined;
  #latencystats: RedisSample['latencystats'] | undefined;

  constructor(f: Form2SampleFields, bytes: Buffer, columns?: SampleColumns, layout?: SampleLayout) {
    this.address = f.address;
    this.cluster = f.cluster;
    this.group = f.group;
    this.up = f.up;
    this.error = f.error;
    this.sampledAtMs = f.sampledAtMs;
    this.role = f.role;
    this.replicas = f.replicas;
    this.keyspace = f.keyspace;
    this.errorstats = f.errorstats;
    this.maxmemory = f.maxmemory;
    this.maxclients = f.maxclients;
    this.rates = f.rates;
    this.headroom = f.headroom;
    this.unavailable = f.unavailable;
    this.slowlog = f.slowlog;
    this.#bytes = bytes;
    this.#columns = columns;
    this.#layout = layout;
  }
  /** One redisfleet.v2.RedisSample message body. */
  get bytes(): Buffer {
    return this.#bytes;
  }
  columns(): SampleColumns {
    return (this.#columns ??= readSampleBody(this.#bytes, 0, this.#bytes.length).columns);
  }
  layout(): SampleLayout | null {
    if (this.#layout === undefined) this.#layout = layOut(this.#bytes)?.layout ?? null;
    return this.#layout;
  }
  get info(): RedisSample['info'] {
    return (this.#info ??= infoOf(this.columns(), REDIS_FIELD_NAMES));
  }
  get commandstats(): RedisSample['commandstats'] {
    return (this.#commandstats ??= commandstatsOf(this.columns()));
  }
  get latencystats(): RedisSample['latencystats'] {
    return (this.#latencystats ??= latencystatsOf(this.columns()));
  }
  /** `info[name]`, without building the map for a schema field. */
  infoValue(name: string): Value | undefined {
    if (this.#info) return this.#info[name];
    const layout = this.layout();
    // A name Object.prototype has (`__proto__`, `toString`) reads what the map would give.
    if (!layout || name in Object.prototype) return this.info[name];
    const i = INDEX.get(name);
    if (i === undefined) return unindexedValue(this.#bytes, layout, name);
    const bytes = this.#bytes;
    const at = (this.#at ??= positions(bytes, layout))[i]!;
    switch (at & 7) {
      case AT_INT:
        return { int: bytes.readDoubleLE(at >>> 3) };
      case AT_FLOAT:
        return { float: bytes.readDoubleLE(at >>> 3) };
      case AT_STR:
        return { str: stringValueAt(bytes, at >>> 3) };
      case AT_MAP:
        return this.info[name];
      default:
        return undefined;
    }
  }
  /** The same sample without its slowlog entries (sharing the columns). */
  withoutSlowlog(): Form2Sample {
    const s = new Form2Sample(withNoSlowlog(this), this.#bytes, this.#columns, this.#layout ?? undefined);
    s.#info = this.#info;
    s.#at = this.#at;
    return s;
  }
  /**
   * The sample as its instance's latest, kept for an interval: no slowlog entries, no columns and
   * no INFO map (read from its bytes through its layout when asked). A latest sample outlives a
   * few young-generation collections: what it holds moves to the old generation.
   */
  latest(): Form2Sample {
    if (!this.slowlog.length && !this.#columns && !this.#info) return this;
    const layout = this.layout();
    const s = new Form2Sample(withNoSlowlog(this), this.#bytes, layout ? undefined : this.#columns, layout ?? undefined);
    s.#at = this.#at;
    return s;
  }
  /** A plain copy, keys in the order the form-2 reader has always given them. */
  toJSON(): RedisSample {
    return sampleOf(this, this.info, this.commandstats, this.latencystats);
  }
}

/** The agent's sample: `fields` plus `columns` (INFO, commandstats, latencystats), written to form-2 bytes now. */
export function form2Sample(fields: Form2SampleFields, columns: Form2Columns): RedisSample {
  sampleWriter.pos = 0;
  writeForm2Sample(sampleWriter, fields, columns);
  return new Form2Sample(fields, sampleWriter.take());
}

/** `s.info[name]`; a form-2 sample answers a schema field from its columns (no INFO map built). */
export function sampleInfo(s: RedisSample, name: string): Value | undefined {
  return s instanceof Form2Sample ? s.infoValue(name) : s.info[name];
}

/** A form-2 sample's layout; null for a form-1 one, or one read as columns. */
const layoutOf = (s: RedisSample): SampleLayout | null => (s instanceof Form2Sample ? s.layout() : null);

/** Opens `cur` on INFO column `column` of a form-2 sample; false for a form-1 one, or one read as columns (its INFO map then). */
export function openInfo(cur: InfoCursor, s: RedisSample, column: number): boolean {
  const layout = layoutOf(s);
  if (layout) cur.open((s as Form2Sample).bytes, layout, column);
  return layout !== null;
}

/** Opens `cur` on a form-2 sample's per-command rows (CMD_ROWS, LAT_ROWS); false as openInfo(). */
export function openRows(cur: RowCursor, s: RedisSample, which: number): boolean {
  const layout = layoutOf(s);
  if (layout) cur.open((s as Form2Sample).bytes, layout, which);
  return layout !== null;
}

// Object.assign, not `{ ...s, slowlog: [] }`: on Node 20 that spread gives every copy a hidden class
// of its own (common/records.ts).
const withNoSlowlog = <T extends RedisSample>(s: T): RedisSample => Object.assign({}, s, { slowlog: [] });

/** The sample as the latest one of its instance: no slowlog entries (they are news of one report only). */
export function withoutSlowlog(s: RedisSample): RedisSample {
  if (!s.slowlog.length) return s;
  return s instanceof Form2Sample ? s.withoutSlowlog() : withNoSlowlog(s);
}

/**
 * The sample as the latest one of its instance: no slowlog entries (they are news of one report
 * only), and a form-2 one without its columns or INFO map (read from its bytes when asked).
 */
export function latestSample(s: RedisSample): RedisSample {
  return s instanceof Form2Sample ? s.latest() : withoutSlowlog(s);
}

/** A form-2 sample as a one-sample RedisSamples (with the schema fingerprint) to store; null for a form-1 one. */
export function storedSampleBytes(s: RedisSample): Buffer | null {
  return s instanceof Form2Sample ? encodeRedisSamples([s]) : null;
}

/** What storedSampleBytes() wrote, back as a sample; null when another schema wrote it (its indexes mean other fields). */
export function storedSample(bytes: Buffer): RedisSample | null {
  const d = decodeLazySamples(bytes);
  return d.schema === SCHEMA_FINGERPRINT && d.samples.length === 1 ? d.samples[0]! : null;
}

/** A sample with every field its own data (form 1's encoder reads the INFO map only as an own property). */
export function plainSample(s: RedisSample): RedisSample {
  return s instanceof Form2Sample ? s.toJSON() : s;
}

/** Samples as an encoded redisfleet.v2.RedisSamples (Report.redisV2); `schema` only differs in tests. */
export function encodeRedisSamples(samples: RedisSample[], schema = SCHEMA_FINGERPRINT): Buffer {
  const w = reportWriter;
  w.pos = 0;
  w.fixed32(1, schema);
  for (const s of samples) {
    if (s instanceof Form2Sample) w.bytes(2, s.bytes);
    else
      w.message(2, () => {
        columnsOf(s, scratch);
        writeForm2Sample(w, s, scratch);
      });
  }
  return w.take();
}

/** Report.redisV2 read back into RedisSamples (INFO as a map again); throws on malformed bytes. */
export function decodeRedisSamples(buf: Buffer): { schema: number; samples: RedisSample[] } {
  return readRedisSamples(buf, REDIS_FIELD_NAMES);
}

/**
 * Report.redisV2 as form-2 samples: own fields and columns read (malformed bytes throw), the
 * INFO map and row objects built only when read. Each keeps its bytes (a view of `buf`).
 */
export function decodeLazySamples(buf: Buffer): { schema: number; samples: RedisSample[] } {
  const { schema, spans } = readSampleSpans(buf);
  const samples: RedisSample[] = [];
  for (const [start, end] of spans) {
    const bytes = buf.subarray(start, end);
    const laid = layOut(bytes);
    if (laid) samples.push(new Form2Sample(laid.fields, bytes, undefined, laid.layout));
    else {
      const { fields, columns } = readSampleBody(buf, start, end);
      samples.push(new Form2Sample(fields, bytes, columns));
    }
  }
  return { schema, samples };
}

/** Why a form-2 payload cannot be read here, or null when it can. */
export function formProblem(schema: number, accepted: boolean): string | null {
  if (schema !== SCHEMA_FINGERPRINT)
    return `report.redisV2.schema ${fingerprintText(schema)} differs from this collector's ${fingerprintText(SCHEMA_FINGERPRINT)}: agent and collector were built from different metric schemas (proto/schema.ts); the agent must send form 1 (upgrade one side)`;
  if (!accepted)
    return 'report.redisV2 sent, but this stream did not negotiate report form 2 (send form 1, or offer form 2 in hello.reportForms)';
  return null;
}
