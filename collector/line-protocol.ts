// Points -> InfluxDB 1.x line protocol (ms timestamps), encoded once per report: the
// same bytes go to InfluxDB, or to the spool and later to InfluxDB. Field types come
// from proto/schema.ts (int -> `42i`, float, string quoted), so a field never changes
// type; unlisted numeric fields of a 'float' measurement are floats.
// https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
import { MEASUREMENTS, type FieldType, type MeasurementDef } from '../proto/index.js';
import type { FieldValue, Point, Tags } from './points.js';

const escMeasurement = (s: string): string => (/[, \\]/.test(s) ? s.replace(/[, \\]/g, (c) => `\\${c}`) : s);
const escKey = (s: string): string => (/[,= \\]/.test(s) ? s.replace(/[,= \\]/g, (c) => `\\${c}`) : s);
const escString = (s: string): string => (/["\\]/.test(s) ? s.replace(/["\\]/g, (c) => `\\${c}`) : s);

/** escKey without the regex for the common case: most tag values need no escape. */
function tagText(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 44 /* , */ || c === 61 /* = */ || c === 32 /* space */ || c === 92 /* \\ */) return escKey(s);
  }
  return s;
}

function intText(v: number): string {
  const t = Math.trunc(v);
  return Number.isSafeInteger(t) ? `${t}i` : `${BigInt(t)}i`;
}

/** How one field of a measurement is written: `key=` escaped once, and its type (null: dropped). */
interface FieldEnc {
  prefix: string;
  /** undefined: a measurement outside the schema (numbers as floats, strings dropped). */
  type: FieldType | null | undefined;
}

/** Per measurement: its escaped name and its fields' encodings, worked out on first use. */
interface MeasurementEnc {
  name: string;
  def: MeasurementDef | undefined;
  fields: Map<string, FieldEnc>;
}

// Unlisted field names come from agents: the per-measurement cache is bounded (past it, encoded uncached).
const FIELD_CACHE_MAX = 10_000;
const MEASUREMENT_CACHE_MAX = 1_000;
const measurementEncs = new Map<string, MeasurementEnc>();

function measurementEnc(measurement: string): MeasurementEnc {
  let m = measurementEncs.get(measurement);
  if (m === undefined) {
    m = { name: escMeasurement(measurement), def: MEASUREMENTS[measurement], fields: new Map() };
    if (measurementEncs.size >= MEASUREMENT_CACHE_MAX) measurementEncs.clear();
    measurementEncs.set(measurement, m);
  }
  return m;
}

function fieldEnc(m: MeasurementEnc, key: string): FieldEnc {
  let f = m.fields.get(key);
  if (f === undefined) {
    const def = m.def;
    const fd = def?.fields[key];
    const type = fd ? fd.type : def ? (def.otherNumericFields === 'drop' ? null : 'float') : undefined;
    f = { prefix: `${escKey(key)}=`, type };
    if (m.fields.size < FIELD_CACHE_MAX) m.fields.set(key, f);
  }
  return f;
}

/** One field as `key=value`, or '' when it cannot be written (non-finite, or an unlisted string). */
function fieldText(f: FieldEnc, v: FieldValue): string {
  const type = f.type;
  if (type === null) return '';
  if (type === 'string') return `${f.prefix}"${escString(String(v))}"`;
  if (typeof v === 'string') {
    if (type === undefined) return '';
    v = Number(v);
  }
  if (!Number.isFinite(v)) return '';
  return type === 'int' ? f.prefix + intText(v) : f.prefix + String(v);
}

/**
 * Tag keys in line-protocol order (sorted). Consecutive points mostly share their tag keys in the
 * same order (one sample's cmdstat rows, ...): the last order is reused when the keys repeat.
 */
class TagOrder {
  private keys: string[] = [];
  private sorted: string[] = [];

  of(tags: Tags): string[] {
    const keys = this.keys;
    let i = 0;
    let same = true;
    for (const k in tags) {
      if (keys[i] !== k) {
        same = false;
        break;
      }
      i++;
    }
    if (!same || i !== keys.length) {
      this.keys = Object.keys(tags);
      this.sorted = [...this.keys].sort();
    }
    return this.sorted;
  }
}

function line(p: Point, order: TagOrder): string {
  const m = measurementEnc(p.measurement);
  let text = m.name;
  const tags = p.tags;
  const tagKeys = order.of(tags);
  for (let i = 0; i < tagKeys.length; i++) {
    const k = tagKeys[i]!;
    const v = tags[k]!;
    if (v !== '') text += `,${tagText(k)}=${tagText(v)}`;
  }
  let fields = '';
  const pf = p.fields;
  for (const k in pf) {
    const f = fieldText(fieldEnc(m, k), pf[k]!);
    if (f) fields = fields ? `${fields},${f}` : f;
  }
  if (!fields) return '';
  return `${text} ${fields} ${Math.trunc(p.time)}`;
}

/** One point as a line (no newline), or '' when it has no writable field. */
export function pointLine(p: Point): string {
  return line(p, new TagOrder());
}

/** A report's points as newline-terminated lines, and how many were writable. */
export function encodeLines(points: Point[]): { lines: Buffer; points: number } {
  let text = '';
  let n = 0;
  const order = new TagOrder();
  for (let i = 0; i < points.length; i++) {
    const l = line(points[i]!, order);
    if (!l) continue;
    text += `${l}\n`;
    n++;
  }
  return { lines: Buffer.from(text), points: n };
}
