// Report form 2 (proto/redisfleet/v2/redis.proto): Redis samples with INFO by schema index.
// The index is the order of the `redis` measurement's fields in proto/schema.ts; its
// fingerprint travels in Hello and in every RedisSamples, so an agent and a collector built
// from different schemas never read each other's indexes (the collector says so instead).
import path from 'node:path';
import { PROTO_DIR, encodeMessage } from './codec.js';
import { emptyInfoColumns, readRedisSamples, type InfoColumns } from './form2-reader.js';
import { MEASUREMENTS } from './schema.js';
import type { RedisRates, RedisSample } from './types.js';

export const REPORT_FORM_V1 = 1;
export const REPORT_FORM_V2 = 2;

/** The form-2 index: field i of the `redis` measurement is index i. */
export const REDIS_FIELD_NAMES: readonly string[] = Object.keys(MEASUREMENTS.redis!.fields);
const INDEX = new Map(REDIS_FIELD_NAMES.map((n, i) => [n, i]));

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

/** redisfleet.v2.RedisSample as protobufjs encodes it (camelCase, numbers). */
interface RedisSampleV2
  extends
    InfoColumns,
    Pick<
      RedisSample,
      'address' | 'cluster' | 'group' | 'up' | 'error' | 'sampledAtMs' | 'role' | 'replicas' | 'keyspace' | 'errorstats' | 'slowlog'
    > {
  maxmemory: number;
  maxclients: number;
  unavailable: string[];
  cmdCommand: string[];
  cmdCalls: number[];
  cmdUsec: number[];
  cmdUsecPerCall: number[];
  cmdRejectedCalls: number[];
  cmdFailedCalls: number[];
  latCommand: string[];
  latP50: number[];
  latP99: number[];
  latP999: number[];
  rates: number[];
  headroom: number[];
  headroomLimitSource: string;
}

// RedisRates in redisfleet.v1 field order (valid first, as 0/1).
const RATE_KEYS = [
  'valid',
  'opsPerSec',
  'netInputBytesPerSec',
  'netOutputBytesPerSec',
  'keyspaceHitRatio',
  'evictedKeysPerSec',
  'expiredKeysPerSec',
  'rejectedConnectionsPerSec',
] as const satisfies readonly (keyof RedisRates)[];

/** One INFO value into its type's columns: by schema index, or by name when the schema does not list it. */
function column<T>(i: number | undefined, name: string, value: T, index: number[], values: T[], names: string[], others: T[]): void {
  if (i === undefined) {
    names.push(name);
    others.push(value);
  } else {
    index.push(i);
    values.push(value);
  }
}

/** A form-1 sample in form 2 (what the agent sends once the collector accepted form 2). */
function sampleToV2(s: RedisSample): RedisSampleV2 {
  const o: RedisSampleV2 = {
    address: s.address,
    cluster: s.cluster,
    group: s.group,
    up: s.up,
    error: s.error,
    sampledAtMs: s.sampledAtMs,
    role: s.role,
    ...emptyInfoColumns(),
    maxmemory: s.maxmemory,
    maxclients: s.maxclients,
    unavailable: s.unavailable,
    cmdCommand: [],
    cmdCalls: [],
    cmdUsec: [],
    cmdUsecPerCall: [],
    cmdRejectedCalls: [],
    cmdFailedCalls: [],
    latCommand: [],
    latP50: [],
    latP99: [],
    latP999: [],
    rates: [],
    headroom: [],
    headroomLimitSource: '',
    replicas: s.replicas,
    keyspace: s.keyspace,
    errorstats: s.errorstats,
    slowlog: s.slowlog,
  };
  const info = s.info;
  for (const k in info) {
    const v = info[k] as Partial<Record<'int' | 'float' | 'str', number | string>> & { kind?: string };
    const i = INDEX.get(k);
    const kind = v.kind ?? ('int' in v ? 'int' : 'float' in v ? 'float' : 'str' in v ? 'str' : '');
    if (kind === 'int') column(i, k, v.int as number, o.intIndex, o.intValue, o.otherIntName, o.otherIntValue);
    else if (kind === 'float') column(i, k, v.float as number, o.floatIndex, o.floatValue, o.otherFloatName, o.otherFloatValue);
    else if (kind === 'str') column(i, k, v.str as string, o.strIndex, o.strValue, o.otherStrName, o.otherStrValue);
  }
  for (const c of s.commandstats) {
    o.cmdCommand.push(c.command);
    o.cmdCalls.push(c.calls);
    o.cmdUsec.push(c.usec);
    o.cmdUsecPerCall.push(c.usecPerCall);
    o.cmdRejectedCalls.push(c.rejectedCalls);
    o.cmdFailedCalls.push(c.failedCalls);
  }
  for (const l of s.latencystats) {
    o.latCommand.push(l.command);
    o.latP50.push(l.p50);
    o.latP99.push(l.p99);
    o.latP999.push(l.p999);
  }
  const r = s.rates;
  if (r) for (const k of RATE_KEYS) o.rates.push(Number(r[k]));
  const h = s.headroom;
  if (h) {
    o.headroom.push(h.usedBytes, h.limitBytes, h.usedRatio);
    o.headroomLimitSource = h.limitSource;
  }
  return o;
}

const V2_FILE = path.join(PROTO_DIR, 'redisfleet', 'v2', 'redis.proto');

/** Samples as an encoded redisfleet.v2.RedisSamples (Report.redisV2); `schema` only differs in tests. */
export function encodeRedisSamples(samples: RedisSample[], schema = SCHEMA_FINGERPRINT): Buffer {
  return encodeMessage(V2_FILE, 'redisfleet.v2.RedisSamples', { schema, samples: samples.map(sampleToV2) });
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
