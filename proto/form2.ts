// Report form 2 (proto/redisfleet/v2/redis.proto): Redis samples with INFO by schema index.
// The index is the order of the `redis` measurement's fields in proto/schema.ts; its
// fingerprint travels in Hello and in every RedisSamples, so an agent and a collector built
// from different schemas never read each other's indexes (the collector says so instead).
import { readRedisSamples } from './form2-reader.js';
import { Form2Columns, ProtoWriter, writeForm2Sample, type Form2SampleFields } from './form2-writer.js';
import { MEASUREMENTS } from './schema.js';
import type { RedisSample } from './types.js';

export { Form2Columns, type Form2SampleFields } from './form2-writer.js';

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

function readBack(bytes: Buffer): RedisSample {
  const w = new ProtoWriter(bytes.length + 16);
  w.bytes(2, bytes);
  const one = readRedisSamples(w.take(), REDIS_FIELD_NAMES).samples[0];
  if (!one) throw new Error('form-2 sample bytes hold no sample');
  return one;
}

/**
 * A sample as the agent builds it: its INFO and per-command rows went straight from form-2
 * columns to bytes. Form 2 sends those bytes as they are; `info`, `commandstats` and
 * `latencystats` are read back from them only when something asks (tests, a down-sample's
 * status) — prototype getters, so a spread copy does not carry them: plainSample() first.
 * Not to be changed afterwards (the bytes would not follow).
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
  #back: RedisSample | undefined;

  constructor(f: Form2SampleFields, bytes: Buffer) {
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
  }
  get bytes(): Buffer {
    return this.#bytes;
  }
  /** The sample read back from its bytes (what a collector reads). */
  decoded(): RedisSample {
    return (this.#back ??= readBack(this.#bytes));
  }
  get info(): RedisSample['info'] {
    return this.decoded().info;
  }
  get commandstats(): RedisSample['commandstats'] {
    return this.decoded().commandstats;
  }
  get latencystats(): RedisSample['latencystats'] {
    return this.decoded().latencystats;
  }
}

/** The agent's sample: `fields` plus `columns` (INFO, commandstats, latencystats), written to form-2 bytes now. */
export function form2Sample(fields: Form2SampleFields, columns: Form2Columns): RedisSample {
  sampleWriter.pos = 0;
  writeForm2Sample(sampleWriter, fields, columns);
  return new Form2Sample(fields, sampleWriter.take());
}

/** A sample with every field its own data (form 1's encoder reads the INFO map only as an own property). */
export function plainSample(s: RedisSample): RedisSample {
  return s instanceof Form2Sample ? s.decoded() : s;
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

/** Why a form-2 payload cannot be read here, or null when it can. */
export function formProblem(schema: number, accepted: boolean): string | null {
  if (schema !== SCHEMA_FINGERPRINT)
    return `report.redisV2.schema ${fingerprintText(schema)} differs from this collector's ${fingerprintText(SCHEMA_FINGERPRINT)}: agent and collector were built from different metric schemas (proto/schema.ts); the agent must send form 1 (upgrade one side)`;
  if (!accepted)
    return 'report.redisV2 sent, but this stream did not negotiate report form 2 (send form 1, or offer form 2 in hello.reportForms)';
  return null;
}
