// The gRPC contract: loads fleet.proto once and exposes the service definition,
// the message types and helpers both sides share.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { RedisSample, Value } from './types.js';
import { REDIS_FIELD_INDEX, REDIS_FIELD_NAMES, openInfo, sampleInfo } from './form2.js';
import { INFO_FLOAT, INFO_INT, INFO_STR, InfoCursor, KeysMemo, OTHER_FLOAT, OTHER_INT, OTHER_STR } from './form2-layout.js';
import { PROTO_DIR, encodeMessage } from './codec.js';

export * from './types.js';
export * from './schema.js';
export * from './persistence.js';
export * from './form2.js';
export {
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
  RowCursor,
  utf8Text,
} from './form2-layout.js';

export const PROTOCOL_VERSION = 1;
export const PROTO_PACKAGE = 'redisfleet.v1';

export const PROTO_FILE = path.join(PROTO_DIR, 'redisfleet', 'v1', 'fleet.proto');

export const LOADER_OPTIONS: protoLoader.Options = {
  includeDirs: [PROTO_DIR],
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: false,
  oneofs: true,
};

let cached: grpc.ServiceClientConstructor | undefined;

/** The `redisfleet.v1.Fleet` service constructor (also carries `.service` for servers). */
export function fleetService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const def = protoLoader.loadSync(PROTO_FILE, LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    redisfleet: { v1: { Fleet: grpc.ServiceClientConstructor } };
  };
  cached = pkg.redisfleet.v1.Fleet;
  return cached;
}

/**
 * Encodes an AgentMessage straight from a well-typed plain object. proto-loader's serializer runs
 * protobufjs `fromObject` first, which copies every message (a map entry per INFO field): direct
 * `encode` gives the same bytes at ~1/3 of the CPU (test/proto.test.ts checks the bytes are equal).
 * A value of the wrong runtime type makes it throw; callers fall back to the serializer.
 */
export function encodeAgentMessage(msg: unknown): Buffer {
  return encodeMessage(PROTO_FILE, `${PROTO_PACKAGE}.AgentMessage`, msg);
}

/** Default largest message either side accepts (bytes). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export function intValue(v: number): Value {
  return { int: Math.trunc(v) };
}
export function floatValue(v: number): Value {
  return { float: v };
}
export function strValue(v: string): Value {
  return { str: v };
}

/** Plain JS value of a proto Value (proto-loader adds a `kind` discriminator on decode). */
export function valueOf(v: Value | undefined): number | string | undefined {
  if (!v) return undefined;
  const k = (v as { kind?: string }).kind;
  if (k === 'int' || (k === undefined && 'int' in v)) return (v as { int: number }).int;
  if (k === 'float' || (k === undefined && 'float' in v)) return (v as { float: number }).float;
  if (k === 'str' || (k === undefined && 'str' in v)) return (v as { str: string }).str;
  return undefined;
}

/** Typed reads of one block of fields: null (never undefined) when a field is absent. */
export function fieldReader(f: Record<string, Value> | undefined) {
  return valueReader((k) => f?.[k]);
}

/** fieldReader(s.info) of a Redis sample; a form-2 one reads its columns, no INFO map built (sampleInfo). */
export function infoReader(s: RedisSample) {
  return valueReader((k) => sampleInfo(s, k));
}

/** infoReader(s).num(name), with no reader made (a per-sample read on ingest). */
export function infoNum(s: RedisSample, name: string): number | null {
  const v = valueOf(sampleInfo(s, name));
  return typeof v === 'number' ? v : null;
}

/** infoReader(s).str(name), with no reader made. */
export function infoStr(s: RedisSample, name: string): string | null {
  const v = valueOf(sampleInfo(s, name));
  return v === undefined ? null : String(v);
}

function valueReader(get: (k: string) => Value | undefined) {
  return {
    num: (k: string): number | null => {
      const v = valueOf(get(k));
      return typeof v === 'number' ? v : null;
    },
    str: (k: string): string | null => {
      const v = valueOf(get(k));
      return v === undefined ? null : String(v);
    },
    flag: (k: string): boolean => valueOf(get(k)) === 1,
  };
}

/** Values of a fixed list of INFO fields, in its order (undefined: absent); valid until the next call. */
export type InfoPicker = (s: RedisSample) => readonly (number | string | undefined)[];

/**
 * valueOf(sampleInfo(s, name)) for each of `names`, in one pass over a form-2 sample's columns in
 * its bytes (sampleInfo's per-sample index of every schema field costs more than a few dozen
 * reads); a form-1 sample reads the INFO map. In a form-2 sample a name is answered as its INFO
 * map would: columns in the map's order, a later one winning.
 */
export function infoPicker(names: readonly string[]): InfoPicker {
  const out: (number | string | undefined)[] = new Array<undefined>(names.length).fill(undefined);
  const slotOf = new Int32Array(REDIS_FIELD_NAMES.length).fill(-1);
  // Every name is looked for in the by-name columns too: a schema name may come there, and a name
  // outside the schema comes only there.
  const byName = new Map<string, number>();
  names.forEach((n, j) => {
    const i = REDIS_FIELD_INDEX.get(n);
    if (i !== undefined) slotOf[i] = j;
    byName.set(n, j);
  });
  // The by-name columns' names are looked up only at these byte lengths.
  const atLength = new Uint8Array(256);
  for (const n of byName.keys()) if (n.length < atLength.length) atLength[n.length] = 1;
  const cur = new InfoCursor();
  /** One schema-indexed column (`cur` opened on it). */
  const indexed = (column: number): void => {
    while (cur.next()) {
      const slot = slotOf[cur.key];
      if (slot !== undefined && slot >= 0) out[slot] = column === INFO_STR ? cur.text() : cur.num;
    }
  };
  // Per by-name column, the slot of each of its names (-1: not asked for), as the last sample sent it.
  const namedSlots = [OTHER_INT, OTHER_FLOAT, OTHER_STR].map(() => new KeysMemo<number[]>());
  const named = (s: RedisSample, column: number, memo: KeysMemo<number[]>): void => {
    openInfo(cur, s, column);
    const known = memo.get(cur);
    const slots = known ?? [];
    for (let j = 0; cur.next(); j++) {
      let slot: number;
      if (known) slot = known[j]!;
      else {
        const length = cur.at[3]! - cur.at[2]!;
        slot = length < atLength.length && atLength[length] === 0 ? -1 : (byName.get(cur.name()) ?? -1);
        slots.push(slot);
      }
      if (slot >= 0) out[slot] = column === OTHER_STR ? cur.text() : cur.num;
    }
    if (!known) memo.set(cur, slots);
  };
  return (s) => {
    if (!openInfo(cur, s, INFO_INT)) {
      for (let j = 0; j < names.length; j++) out[j] = valueOf(sampleInfo(s, names[j]!));
      return out;
    }
    for (let j = 0; j < out.length; j++) out[j] = undefined;
    indexed(INFO_INT);
    openInfo(cur, s, INFO_FLOAT);
    indexed(INFO_FLOAT);
    openInfo(cur, s, INFO_STR);
    indexed(INFO_STR);
    named(s, OTHER_INT, namedSlots[0]!);
    named(s, OTHER_FLOAT, namedSlots[1]!);
    named(s, OTHER_STR, namedSlots[2]!);
    return out;
  };
}
