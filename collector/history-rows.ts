// How the embedded history stores a point's fields: a row holds the values only (a JSON
// array, deflated when long) and a layout id; the layout (field names, and for rollups
// the aggregate of each) is stored once in history_layouts. Measured in docs/benchmarks.md
// (history): about a quarter of the bytes of a JSON object per point.
import zlib from 'node:zlib';
import { MEASUREMENTS } from '../proto/index.js';
import type { FieldValue } from './points.js';

/** raw: the value as written; mean/max over the minute; last: the minute's latest value (counters, strings). */
export type Aggregate = 'raw' | 'mean' | 'max' | 'last';

/** One column of a layout: a field and what its values are. */
export type Column = readonly [field: string, agg: Aggregate];

const PLAIN = 0;
const DEFLATED = 1;
/** Below this, deflate costs more than it saves. */
const DEFLATE_FROM = 160;

/** The values of a row as stored (first byte: 0 = JSON, 1 = deflated JSON). */
export function encodeValues(values: readonly (FieldValue | null)[]): Buffer {
  const json = Buffer.from(JSON.stringify(values));
  if (json.length < DEFLATE_FROM) return Buffer.concat([Buffer.of(PLAIN), json]);
  return Buffer.concat([Buffer.of(DEFLATED), zlib.deflateRawSync(json, { level: 1 })]);
}

export function decodeValues(blob: Buffer): (FieldValue | null)[] {
  const body = blob.subarray(1);
  const json = blob[0] === DEFLATED ? zlib.inflateRawSync(body) : body;
  return JSON.parse(json.toString()) as (FieldValue | null)[];
}

const counterCache = new Map<string, Map<string, boolean>>();

/**
 * A cumulative counter keeps only its last value per minute (a rate is the difference of two
 * lasts); a gauge keeps mean and max. From the schema: documented counters, fields with a
 * `<name>_per_sec` sibling, and INFO's total_* / *_calls / cumulative names.
 */
export function isCounter(measurement: string, field: string): boolean {
  let cache = counterCache.get(measurement);
  if (!cache) counterCache.set(measurement, (cache = new Map()));
  let c = cache.get(field);
  if (c === undefined) {
    const def = MEASUREMENTS[measurement];
    c =
      def?.fields[field]?.doc === 'cumulative counter' ||
      def?.fields[`${field}_per_sec`] !== undefined ||
      /^(total_|sync_|rdb_saves$|aof_rewrites$|calls$|usec$|rejected_calls$|failed_calls$|count$)|_(offset|hits|misses|keys|processed|received|calls)$/.test(
        field,
      );
    if (field.endsWith('_per_sec') || def?.fields[field]?.type === 'float') c = false;
    cache.set(field, c);
  }
  return c;
}

/** Running aggregate of one field over a minute (or a step). */
interface Acc {
  sum: number;
  n: number;
  max: number;
  last: FieldValue | null;
  lastTime: number;
}

/** Folds the rows (raw points or minute rollups) of one series and period into one rollup. */
export class MinuteRollup {
  private readonly acc = new Map<string, Acc>();
  /** Raw points folded in. */
  count = 0;

  /** One row: its layout's columns, its values, its time and how many raw points it stands for. */
  addRow(columns: readonly Column[], values: readonly (FieldValue | null)[], time: number, n: number): void {
    this.count += n;
    for (let i = 0; i < columns.length; i++) {
      const v = values[i];
      if (v === null || v === undefined) continue;
      const [f, agg] = columns[i]!;
      let a = this.acc.get(f);
      if (!a) this.acc.set(f, (a = { sum: 0, n: 0, max: -Infinity, last: null, lastTime: -Infinity }));
      if (typeof v === 'number') {
        if (agg === 'raw' || agg === 'mean') {
          a.sum += v * n;
          a.n += n;
        }
        if ((agg === 'raw' || agg === 'max') && v > a.max) a.max = v;
      }
      if ((agg === 'raw' || agg === 'last') && time >= a.lastTime) {
        a.last = v;
        a.lastTime = time;
      }
    }
  }

  /** The columns and their values: mean and max of gauges, last of counters and strings. */
  result(measurement: string): { columns: Column[]; values: (FieldValue | null)[] } {
    const columns: Column[] = [];
    const values: (FieldValue | null)[] = [];
    for (const [f, a] of this.acc) {
      if (a.n === 0 || typeof a.last === 'string' || isCounter(measurement, f)) {
        columns.push([f, 'last']);
        values.push(a.last);
      } else {
        const mean = a.sum / a.n;
        columns.push([f, 'mean'], [f, 'max']);
        values.push(Number.isInteger(mean) ? mean : Number(mean.toPrecision(7)), a.max === -Infinity ? mean : a.max);
      }
    }
    return { columns, values };
  }
}

/**
 * A rollup row as a point's fields: mean (gauges) or last (counters, strings) under the
 * field's own name, the minute's max as `<field>_max`.
 */
export function rollupFields(columns: readonly Column[], values: readonly (FieldValue | null)[]): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (let i = 0; i < columns.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    const [f, agg] = columns[i]!;
    out[agg === 'max' ? `${f}_max` : f] = v;
  }
  return out;
}
