// Points -> InfluxDB 1.x line protocol (ms timestamps), encoded once per report: the
// same bytes go to InfluxDB, or to the spool and later to InfluxDB. Field types come
// from proto/schema.ts (int -> `42i`, float, string quoted), so a field never changes
// type; unlisted numeric fields of a 'float' measurement are floats.
// https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
import { MEASUREMENTS, type FieldType } from '../proto/index.js';
import type { FieldValue, Point } from './points.js';

export const escMeasurement = (s: string): string => (/[, \\]/.test(s) ? s.replace(/[, \\]/g, (c) => `\\${c}`) : s);
const escKey = (s: string): string => (/[,= \\]/.test(s) ? s.replace(/[,= \\]/g, (c) => `\\${c}`) : s);
export const escString = (s: string): string => (/["\\]/.test(s) ? s.replace(/["\\]/g, (c) => `\\${c}`) : s);

export function intText(v: number): string {
  const t = Math.trunc(v);
  return Number.isSafeInteger(t) ? `${t}i` : `${BigInt(t)}i`;
}

// Keys (measurement, tag and field names, tag values) repeat on every report: escaped once.
const KEY_CACHE_MAX = 100_000;
const keyCache = new Map<string, string>();
export function escKeyCached(s: string): string {
  let e = keyCache.get(s);
  if (e === undefined) {
    e = escKey(s);
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(s, e);
  }
  return e;
}

/** A value of a pinned type as line protocol writes it (numbers already finite). */
export function valueText(type: FieldType, v: FieldValue): string {
  return type === 'string' ? `"${escString(String(v))}"` : type === 'int' ? intText(v as number) : String(v);
}

/** `,k=v` for every non-empty tag, keys sorted. */
export function tagsText(tags: Record<string, string>): string {
  const keys = Object.keys(tags).sort();
  let t = '';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = tags[k]!;
    if (v !== '') t += `,${escKeyCached(k)}=${escKeyCached(v)}`;
  }
  return t;
}

/** One field as `key=value`, or '' when it cannot be written (non-finite, or an unlisted string). */
function fieldText(key: string, v: FieldValue, type: FieldType | undefined): string {
  if (type === 'string' || (type === undefined && typeof v === 'string')) {
    return type === undefined ? '' : `${escKeyCached(key)}=${valueText('string', v)}`;
  }
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return '';
  return `${escKeyCached(key)}=${valueText(type === 'int' ? 'int' : 'float', n)}`;
}

/** One point as a line (no newline), or '' when it has no writable field. */
export function pointLine(p: Point): string {
  const def = MEASUREMENTS[p.measurement];
  const line = escMeasurement(p.measurement) + tagsText(p.tags);
  let fields = '';
  const other = def ? (def.otherNumericFields === 'drop' ? null : 'float') : undefined;
  for (const k in p.fields) {
    const fd = def?.fields[k];
    const type = fd ? fd.type : other;
    if (type === null) continue;
    const f = fieldText(k, p.fields[k]!, type);
    if (f) fields += fields ? `,${f}` : f;
  }
  if (!fields) return '';
  return `${line} ${fields} ${Math.trunc(p.time)}`;
}

/** Line protocol ready to write: newline-terminated lines, and how many points they are. */
export interface EncodedLines {
  lines: Buffer;
  points: number;
}

/** A report's points as newline-terminated lines, and how many were writable. */
export function encodeLines(points: Point[]): EncodedLines {
  const { text, points: n } = encodeText(points);
  return { lines: Buffer.from(text), points: n };
}

/** encodeLines before the bytes: the text, to append more lines to. */
export function encodeText(points: Point[]): { text: string; points: number } {
  let text = '';
  let n = 0;
  for (let i = 0; i < points.length; i++) {
    const l = pointLine(points[i]!);
    if (!l) continue;
    text += `${l}\n`;
    n++;
  }
  return { text, points: n };
}
