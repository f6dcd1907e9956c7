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
  readSampleSpans,
  sampleOf,
  type InfoColumns,
  type SampleColumns,
} from './form2-reader.js';
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

// Where a schema field's INFO value is in a sample's columns: (position << 3) | kind.
const AT_INT = 1;
const AT_FLOAT = 2;
const AT_STR = 3;
/** Also named in an unindexed column (a later column wins, as in the INFO map): ask the map. */
const AT_MAP = 4;

function mark(at: Int32Array, keys: number[], values: number, kind: number): void {
  const n = Math.min(keys.length, values);
  for (let j = 0; j < n; j++) {
    const i = keys[j]!;
    if (i < at.length) at[i] = (j << 3) | kind;
  }
}

/** Per schema index, where its value is in `c` (0: absent), as infoOf() would name it. */
function positions(c: InfoColumns): Int32Array {
  const at = new Int32Array(REDIS_FIELD_NAMES.length);
  mark(at, c.intIndex, c.intValue.length, AT_INT);
  mark(at, c.floatIndex, c.floatValue.length, AT_FLOAT);
  mark(at, c.strIndex, c.strValue.length, AT_STR);
  for (const names of [c.otherIntName, c.otherFloatName, c.otherStrName])
    for (const name of names) {
      const i = INDEX.get(name);
      if (i !== undefined) at[i] = AT_MAP;
    }
  return at;
}

/** `infoOf(c)[name]` for a name outside the schema index: only the by-name columns can hold it, and the last one wins. */
function unindexedValue(c: InfoColumns, name: string): Value | undefined {
  // A name Object.prototype has (`__proto__`, `toString`) reads what the map would give.
  if (name in Object.prototype) return infoOf(c, REDIS_FIELD_NAMES)[name];
  const last = (names: string[], values: number): number => {
    for (let j = Math.min(names.length, values) - 1; j >= 0; j--) if (names[j] === name) return j;
    return -1;
  };
  const s = last(c.otherStrName, c.otherStrValue.length);
  if (s >= 0) return { str: c.otherStrValue[s]! };
  const f = last(c.otherFloatName, c.otherFloatValue.length);
  if (f >= 0) return { float: c.otherFloatValue[f]! };
  const n = last(c.otherIntName, c.otherIntValue.length);
  return n >= 0 ? { int: c.otherIntValue[n]! } : undefined;
}

/**
 * A form-2 sample: its own fields read, its INFO, commandstats and latencystats kept as the
 * columns they travel in (proto/form2-reader.ts) and turned into the INFO map and row objects
 * only when something reads them. The agent builds one from its parse (form2Sample: bytes now,
 * columns read back when asked), the collector from a report (decodeLazySamples: columns read
 * with the report, so a malformed one is refused there). One INFO field is read without the
 * map through sampleInfo(). Prototype getters: a spread copy does not carry INFO (plainSample(),
 * or toJSON(), first). Not to be changed afterwards (the bytes would not follow).
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
  #at: Int32Array | undefined;
  #info: RedisSample['info'] | undefined;
  #commandstats: RedisSample['commandstats'] | undefined;
  #latencystats: RedisSample['latencystats'] | undefined;
  /** INFO values picked before the columns were let go (latest()). */
  #kept: Map<string, Value | undefined> | undefined;

  constructor(f: Form2SampleFields, bytes: Buffer, columns?: SampleColumns) {
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
  }
  /** One redisfleet.v2.RedisSample message body. */
  get bytes(): Buffer {
    return this.#bytes;
  }
  columns(): SampleColumns {
    return (this.#columns ??= readSampleBody(this.#bytes, 0, this.#bytes.length).columns);
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
    if (!this.#columns && this.#kept?.has(name)) return this.#kept.get(name);
    const i = INDEX.get(name);
    const c = this.columns();
    if (i === undefined) return unindexedValue(c, name);
    const at = (this.#at ??= positions(c))[i]!;
    switch (at & 7) {
      case AT_INT:
        return { int: c.intValue[at >>> 3]! };
      case AT_FLOAT:
        return { float: c.floatValue[at >>> 3]! };
      case AT_STR:
        return { str: c.strValue[at >>> 3]! };
      case AT_MAP:
        return this.info[name];
      default:
        return undefined;
    }
  }
  /** The same sample without its slowlog entries (sharing the columns). */
  withoutSlowlog(): Form2Sample {
    const s = new Form2Sample({ ...this, slowlog: [] }, this.#bytes, this.#columns);
    s.#info = this.#info;
    s.#at = this.#at;
    return s;
  }
  /**
   * The sample as its instance's latest, kept for an interval: no slowlog entries, and its
   * columns not kept (read again from its bytes if asked) but for the INFO fields `keep` names,
   * picked now. A latest sample outlives a few young-generation collections, so each one would
   * otherwise move a few hundred boxed numbers into the old generation.
   */
  latest(keep: readonly string[]): Form2Sample {
    const s = new Form2Sample({ ...this, slowlog: [] }, this.#bytes);
    const kept = new Map<string, Value | undefined>();
    for (const k of keep) kept.set(k, this.infoValue(k));
    s.#kept = kept;
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

/** A form-2 sample's columns (INFO by schema index, per-command rows), or undefined for a form-1 one. */
export function sampleColumns(s: RedisSample): SampleColumns | undefined {
  return s instanceof Form2Sample ? s.columns() : undefined;
}

/** The sample as the latest one of its instance: no slowlog entries (they are news of one report only). */
export function withoutSlowlog(s: RedisSample): RedisSample {
  if (!s.slowlog.length) return s;
  return s instanceof Form2Sample ? s.withoutSlowlog() : { ...s, slowlog: [] };
}

/**
 * The sample as the latest one of its instance: no slowlog entries, and a form-2 one without its
 * columns, the INFO fields `keep` names picked (read through sampleInfo); the rest is read again
 * from its bytes when asked.
 */
export function latestSample(s: RedisSample, keep: readonly string[]): RedisSample {
  return s instanceof Form2Sample ? s.latest(keep) : withoutSlowlog(s);
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
    const { fields, columns } = readSampleBody(buf, start, end);
    samples.push(new Form2Sample(fields, buf.subarray(start, end), columns));
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
