// How the embedded history stores a point's fields: a row holds the values only (a JSON
// array, deflated when long) and a layout id; the layout (field names, and whether the row
// is a raw point or a minute's rollup) is stored once in history_layouts. A rollup value is
// the field's value when it did not move in the minute (most INFO fields), its last value
// for a string, else [mean, min, max, last] (the mean to 11 significant digits). Sizes: docs/benchmarks.md (history).
import zlib from 'node:zlib';
import type { FieldValue } from './points.js';

/** raw: a point's value; minute: a rollup value (see above). */
export type ColumnKind = 'raw' | 'minute';
/** One column of a layout: a field and what its values are. */
export type Column = readonly [field: string, kind: ColumnKind];

/** How a bucket's values become one (the API's `agg`). */
export type Agg = 'mean' | 'min' | 'max' | 'last';

export type StoredValue = FieldValue | null | [mean: number, min: number, max: number, last: number];

const PLAIN = 0;
const DEFLATED = 1;
/** Below this, deflate costs more than it saves. */
const DEFLATE_FROM = 160;

/** The values of a row as stored (first byte: 0 = JSON, 1 = deflated JSON). */
export function encodeValues(values: readonly StoredValue[]): Buffer {
  const json = Buffer.from(JSON.stringify(values));
  if (json.length < DEFLATE_FROM) return Buffer.concat([Buffer.of(PLAIN), json]);
  return Buffer.concat([Buffer.of(DEFLATED), zlib.deflateRawSync(json, { level: 1 })]);
}

export function decodeValues(blob: Buffer): StoredValue[] {
  const body = blob.subarray(1);
  const json = blob[0] === DEFLATED ? zlib.inflateRawSync(body) : body;
  return JSON.parse(json.toString()) as StoredValue[];
}

const AGG_INDEX: Record<Agg, number> = { mean: 0, min: 1, max: 2, last: 3 };

/** One stored rollup value as the given aggregate. */
export function rollupValue(v: StoredValue, agg: Agg): FieldValue | null {
  return Array.isArray(v) ? v[AGG_INDEX[agg]]! : v;
}

/** Running aggregate of one field over a minute (or a step). */
interface Acc {
  sum: number;
  n: number;
  min: number;
  max: number;
  last: FieldValue | null;
  lastTime: number;
}

/** Folds rows (raw points or minute rollups) of one series and period into one rollup. */
export class Rollup {
  private readonly acc = new Map<string, Acc>();
  /** Raw points folded in. */
  count = 0;

  /**
   * One row: its layout's columns, its values, its time and how many raw points it stands for;
   * `only`: the indexes of the columns to fold (default all).
   */
  addRow(columns: readonly Column[], values: readonly StoredValue[], time: number, n: number, only?: readonly number[]): void {
    this.count += n;
    const count = only ? only.length : columns.length;
    for (let k = 0; k < count; k++) {
      const i = only ? only[k]! : k;
      const v = values[i];
      if (v === null || v === undefined) continue;
      const f = columns[i]![0];
      let a = this.acc.get(f);
      if (!a) this.acc.set(f, (a = { sum: 0, n: 0, min: Infinity, max: -Infinity, last: null, lastTime: -Infinity }));
      let last: FieldValue = v as FieldValue;
      if (Array.isArray(v)) {
        a.sum += v[0] * n;
        a.n += n;
        if (v[1] < a.min) a.min = v[1];
        if (v[2] > a.max) a.max = v[2];
        last = v[3];
      } else if (typeof v === 'number') {
        a.sum += v * n;
        a.n += n;
        if (v < a.min) a.min = v;
        if (v > a.max) a.max = v;
      }
      if (time >= a.lastTime) {
        a.last = last;
        a.lastTime = time;
      }
    }
  }

  /** The rollup's columns and values (see the header for the value forms). */
  result(): { columns: Column[]; values: StoredValue[] } {
    const columns: Column[] = [];
    const values: StoredValue[] = [];
    for (const [f, a] of this.acc) {
      columns.push([f, 'minute']);
      if (a.n === 0 || typeof a.last !== 'number') values.push(a.last);
      else if (a.min === a.max) values.push(a.min);
      else values.push([Number((a.sum / a.n).toPrecision(11)), a.min, a.max, a.last]);
    }
    return { columns, values };
  }

  /** The numeric fields (of `keep`, when given) as one aggregate. */
  fields(agg: Agg, keep?: ReadonlySet<string>): Record<string, FieldValue> {
    const out: Record<string, FieldValue> = {};
    for (const [f, a] of this.acc) {
      if (a.n === 0 || (keep && !keep.has(f))) continue;
      out[f] =
        agg === 'mean' ? (a.min === a.max ? a.min : a.sum / a.n) : agg === 'min' ? a.min : agg === 'max' ? a.max : (a.last as number);
    }
    return out;
  }
}

/** A row's values under their field names (a rollup's as `agg`: the mean by default), `keep` only when given. */
export function rowFields(
  columns: readonly Column[],
  values: readonly StoredValue[],
  agg: Agg = 'mean',
  keep?: ReadonlySet<string>,
): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (let i = 0; i < columns.length; i++) {
    const f = columns[i]![0];
    if (keep && !keep.has(f)) continue;
    const v = rollupValue(values[i] ?? null, agg);
    if (v !== null) out[f] = v;
  }
  return out;
}
