// Points -> InfluxDB 1.x line protocol (ms timestamps), encoded once per report: the
// same bytes go to InfluxDB, or to the spool and later to InfluxDB. Field types come
// from proto/schema.ts (int -> `42i`, float, string quoted), so a field never changes
// type; unlisted numeric fields of a 'float' measurement are floats.
// https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
import { MEASUREMENTS, type FieldType } from '../proto/index.js';
import type { FieldValue, Point } from './points.js';

const escMeasurement = (s: string): string => (/[, \\]/.test(s) ? s.replace(/[, \\]/g, (c) => `\\${c}`) : s);
const escKey = (s: string): string => (/[,= \\]/.test(s) ? s.replace(/[,= \\]/g, (c) => `\\${c}`) : s);
const escString = (s: string): string => (/["\\]/.test(s) ? s.replace(/["\\]/g, (c) => `\\${c}`) : s);

function intText(v: number): string {
  const t = Math.trunc(v);
  return Number.isSafeInteger(t) ? `${t}i` : `${BigInt(t)}i`;
}

/** One field as `key=value`, or '' when it cannot be written (non-finite, or an unlisted string). */
function fieldText(key: string, v: FieldValue, type: FieldType | undefined): string {
  if (type === 'string' || (type === undefined && typeof v === 'string')) {
    return type === undefined ? '' : `${escKey(key)}="${escString(String(v))}"`;
  }
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return '';
  return `${escKey(key)}=${type === 'int' ? intText(n) : String(n)}`;
}

/** One point as a line (no newline), or '' when it has no writable field. */
export function pointLine(p: Point): string {
  const def = MEASUREMENTS[p.measurement];
  let line = escMeasurement(p.measurement);
  const tagKeys = Object.keys(p.tags).sort();
  for (const k of tagKeys) {
    const v = p.tags[k]!;
    if (v !== '') line += `,${escKey(k)}=${escKey(v)}`;
  }
  let fields = '';
  for (const k in p.fields) {
    const fd = def?.fields[k];
    const type = fd ? fd.type : def && def.otherNumericFields === 'drop' ? null : undefined;
    if (type === null) continue;
    const f = fieldText(k, p.fields[k]!, type === undefined ? (def ? 'float' : undefined) : type);
    if (f) fields += fields ? `,${f}` : f;
  }
  if (!fields) return '';
  return `${line} ${fields} ${Math.trunc(p.time)}`;
}

/** A report's points as newline-terminated lines, and how many were writable. */
export function encodeLines(points: Point[]): { lines: Buffer; points: number } {
  let text = '';
  let n = 0;
  for (let i = 0; i < points.length; i++) {
    const l = pointLine(points[i]!);
    if (!l) continue;
    text += `${l}\n`;
    n++;
  }
  return { lines: Buffer.from(text), points: n };
}
