// INFO ALL text → typed scalars plus the structured sections (replicas, keyspace,
// commandstats, latencystats, errorstats). One pass over the text, no regex per line:
// it runs for every instance on every tick.
import { REDIS_FIELD_INDEX, REDIS_FIELD_NAMES, type Form2Columns } from '../../proto/index.js';
import type { CommandStat, ErrorStat, KeyspaceInfo, LatencyStat, ReplicaInfo, Value } from '../../proto/index.js';

export interface ParsedInfo {
  /** Every scalar field, typed: ints stay ints, other numbers (and `N%`) are floats, the rest strings. */
  info: Record<string, Value>;
  role: string;
  replicas: ReplicaInfo[];
  keyspace: KeyspaceInfo[];
  commandstats: CommandStat[];
  latencystats: LatencyStat[];
  errorstats: ErrorStat[];
}

const INT_RE = /^-?\d+$/;
const NUM_RE = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** One INFO value typed as the wire carries it. */
export function typeInfoValue(raw: string): Value {
  if (INT_RE.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? { int: n } : { float: n };
  }
  if (NUM_RE.test(raw)) return { float: Number(raw) };
  if (raw.endsWith('%') && NUM_RE.test(raw.slice(0, -1))) return { float: Number(raw.slice(0, -1)) };
  return { str: raw };
}

/** `a=1,b=x` → entries (values untyped). */
function subFields(v: string): Map<string, string> {
  const out = new Map<string, string>();
  let start = 0;
  while (start <= v.length) {
    let end = v.indexOf(',', start);
    if (end < 0) end = v.length;
    const eq = v.indexOf('=', start);
    if (eq > start && eq < end) out.set(v.slice(start, eq), v.slice(eq + 1, end));
    start = end + 1;
  }
  return out;
}

const int = (v: string | undefined): number => {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
};
const float = (v: string | undefined): number => {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : 0;
};

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** A `slaveN:ip=...,port=...` line (both parsers). */
function replicaOf(id: string, value: string): ReplicaInfo {
  const f = subFields(value);
  return {
    id,
    ip: f.get('ip') ?? '',
    port: int(f.get('port')),
    state: f.get('state') ?? '',
    offset: int(f.get('offset')),
    lagSeconds: int(f.get('lag')),
    lagBytes: 0,
  };
}

/** A `dbN:keys=...,expires=...` line (both parsers). */
function keyspaceOf(db: string, value: string): KeyspaceInfo {
  const f = subFields(value);
  return { db, keys: int(f.get('keys')), expires: int(f.get('expires')), avgTtl: int(f.get('avg_ttl')) };
}

/** Parses an INFO reply (CRLF or LF). Unknown lines are kept as scalars, never an error. */
export function parseInfo(text: string): ParsedInfo {
  const out: ParsedInfo = { info: {}, role: '', replicas: [], keyspace: [], commandstats: [], latencystats: [], errorstats: [] };
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = len;
    const lineEnd = eol > pos && text.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
    const lineStart = pos;
    pos = eol + 1;
    if (lineEnd === lineStart || text.charCodeAt(lineStart) === 35 /* # */) continue;
    const colon = text.indexOf(':', lineStart);
    if (colon < 0 || colon >= lineEnd) continue;
    const key = text.slice(lineStart, colon);
    const value = text.slice(colon + 1, lineEnd);
    parseLine(out, key, value);
  }
  const masterOffset = out.info.master_repl_offset;
  const base = masterOffset && 'int' in masterOffset ? masterOffset.int : undefined;
  for (const r of out.replicas) r.lagBytes = base === undefined ? 0 : Math.max(0, base - r.offset);
  const role = out.info.role;
  out.role = role && 'str' in role ? role.str : '';
  return out;
}

function parseLine(out: ParsedInfo, key: string, value: string): void {
  const c0 = key.charCodeAt(0);
  if (c0 === 115 /* s */ && key.length > 5 && key.startsWith('slave') && isDigit(key.charCodeAt(5)) && value.includes('=')) {
    out.replicas.push(replicaOf(key, value));
    return;
  }
  if (c0 === 100 /* d */ && key.length > 2 && key.charCodeAt(1) === 98 /* b */ && isDigit(key.charCodeAt(2)) && value.includes('=')) {
    out.keyspace.push(keyspaceOf(key, value));
    return;
  }
  if (c0 === 99 /* c */ && key.startsWith('cmdstat_')) {
    const f = subFields(value);
    out.commandstats.push({
      command: key.slice(8),
      calls: int(f.get('calls')),
      usec: int(f.get('usec')),
      usecPerCall: float(f.get('usec_per_call')),
      rejectedCalls: int(f.get('rejected_calls')),
      failedCalls: int(f.get('failed_calls')),
    });
    return;
  }
  if (c0 === 108 /* l */ && key.startsWith('latency_percentiles_usec_')) {
    const f = subFields(value);
    out.latencystats.push({ command: key.slice(25), p50: float(f.get('p50')), p99: float(f.get('p99')), p999: float(f.get('p99.9')) });
    return;
  }
  if (c0 === 101 /* e */ && key.startsWith('errorstat_')) {
    out.errorstats.push({ error: key.slice(10), count: int(subFields(value).get('count')) });
    return;
  }
  if (key.endsWith('_human')) return;
  out.info[key] = typeInfoValue(value);
}

/** Numeric INFO field as a JS number (ints and floats), or undefined. */
export function infoNumber(info: Record<string, Value>, key: string): number | undefined {
  const v = info[key];
  if (!v) return undefined;
  if ('int' in v) return v.int;
  if ('float' in v) return v.float;
  return undefined;
}

/** String INFO field, or undefined. */
export function infoString(info: Record<string, Value>, key: string): string | undefined {
  const v = info[key];
  return v && 'str' in v ? v.str : undefined;
}

// ---- INFO straight into form-2 columns (the tick's path) -------------------------------------
// The same reading as parseInfo (same typing, same structured lines, same skipped `_human`
// fields), but the scalars go into Form2Columns by schema index instead of a map of Value
// objects: no key string for a field the schema lists, no object per field
// (docs/benchmarks.md, "Agent cost"). test/agent-info.test.ts checks both agree.

const TABLE_MASK = 1023;
const TABLE = new Int32Array(TABLE_MASK + 1).fill(-1);

function hashKey(text: string, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h & TABLE_MASK;
}
for (let i = 0; i < REDIS_FIELD_NAMES.length; i++) {
  const n = REDIS_FIELD_NAMES[i]!;
  let slot = hashKey(n, 0, n.length);
  while (TABLE[slot] !== -1) slot = (slot + 1) & TABLE_MASK;
  TABLE[slot] = i;
}

/** The schema index of text[start, end), or -1. */
function schemaIndex(text: string, start: number, end: number): number {
  const len = end - start;
  for (let slot = hashKey(text, start, end); ; slot = (slot + 1) & TABLE_MASK) {
    const i = TABLE[slot]!;
    if (i === -1) return -1;
    const n = REDIS_FIELD_NAMES[i]!;
    if (n.length === len && text.startsWith(n, start)) return i;
  }
}

const INT = 0;
const FLOAT = 1;
const STR = 2;
/** The number typeAt read (INT, FLOAT). */
let typedNumber = 0;

const isDigitAt = (text: string, i: number): boolean => isDigit(text.charCodeAt(i));

/** typeInfoValue's typing of text[vs, ve) without slicing it for ints; the number in `typedNumber`. */
function typeAt(text: string, vs: number, ve: number): number {
  let i = vs;
  const neg = i < ve && text.charCodeAt(i) === 45; /* - */
  if (neg) i++;
  const ds = i;
  let n = 0;
  while (i < ve) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
    i++;
  }
  const nd = i - ds;
  if (i === ve && nd > 0) {
    if (nd <= 15) {
      typedNumber = neg ? -n : n;
      return INT;
    }
    typedNumber = Number(text.slice(vs, ve));
    return Number.isSafeInteger(typedNumber) ? INT : FLOAT;
  }
  // -?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)? then, optionally, one '%'
  let j = i;
  let ok: boolean;
  if (j < ve && text.charCodeAt(j) === 46 /* . */) {
    j++;
    const fs = j;
    while (j < ve && isDigitAt(text, j)) j++;
    ok = nd > 0 || j > fs;
  } else ok = nd > 0;
  if (ok && j < ve && (text.charCodeAt(j) | 0x20) === 101 /* e */) {
    let k = j + 1;
    if (k < ve && (text.charCodeAt(k) === 43 || text.charCodeAt(k) === 45)) k++;
    const es = k;
    while (k < ve && isDigitAt(text, k)) k++;
    ok = k > es;
    j = k;
  }
  if (ok && j === ve) {
    typedNumber = Number(text.slice(vs, ve));
    return FLOAT;
  }
  if (ok && j === ve - 1 && text.charCodeAt(j) === 37 /* % */) {
    typedNumber = Number(text.slice(vs, ve - 1));
    return FLOAT;
  }
  return STR;
}

/** Number(text[a, b)) as subFields + int/float read it: NaN when absent or not finite. */
function numAt(text: string, a: number, b: number): number {
  if (a < 0) return NaN;
  let n = 0;
  let i = a;
  for (; i < b && i - a < 15; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  if (i === b) return n;
  return Number(text.slice(a, b));
}

/** text[a, b) is `k=v,k=v...`: the value of `key` (the last one) as numAt reads it. */
function subNum(text: string, a: number, b: number, key: string): number {
  let found = -1;
  let foundEnd = -1;
  let start = a;
  while (start <= b) {
    let end = text.indexOf(',', start);
    if (end < 0 || end > b) end = b;
    const eq = text.indexOf('=', start);
    if (eq > start && eq < end && eq - start === key.length && text.startsWith(key, start)) {
      found = eq + 1;
      foundEnd = end;
    }
    start = end + 1;
  }
  return numAt(text, found, foundEnd);
}
const intOf = (n: number): number => (Number.isFinite(n) ? Math.trunc(n) : 0);
const floatOf = (n: number): number => (Number.isFinite(n) ? n : 0);

/** INFO fields the caller reads itself, picked while parsing: `num` (NaN when absent or not a number), `str`. */
export class InfoPicks {
  readonly num: Float64Array;
  readonly str: (string | undefined)[];
  private readonly bySchema = new Int16Array(REDIS_FIELD_NAMES.length).fill(-1);
  private readonly byName = new Map<string, number>();

  constructor(readonly names: readonly string[]) {
    this.num = new Float64Array(names.length);
    this.str = new Array<string | undefined>(names.length);
    names.forEach((n, slot) => {
      const i = REDIS_FIELD_INDEX.get(n);
      if (i === undefined) this.byName.set(n, slot);
      else this.bySchema[i] = slot;
    });
  }
  slot(name: string): number {
    const s = this.names.indexOf(name);
    if (s < 0) throw new Error(`INFO field ${name} is not picked`);
    return s;
  }
  reset(): void {
    this.num.fill(NaN);
    this.str.fill(undefined);
  }
  /** @internal the slot of a schema index or of a name, or -1. */
  slotOf(index: number, name: string | undefined): number {
    return index >= 0 ? this.bySchema[index]! : name === undefined ? -1 : (this.byName.get(name) ?? -1);
  }
}

/** What parseInfoColumns returns besides the columns (the small lists, as parseInfo has them). */
export interface InfoRows {
  role: string;
  replicas: ReplicaInfo[];
  keyspace: KeyspaceInfo[];
  errorstats: ErrorStat[];
}

/** parseInfo into `cols` (reset first) and `picks` (reset first); the small lists returned. */
export function parseInfoColumns(text: string, cols: Form2Columns, picks: InfoPicks): InfoRows {
  cols.reset();
  picks.reset();
  const out: InfoRows = { role: '', replicas: [], keyspace: [], errorstats: [] };
  let masterOffset: number | undefined;
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = len;
    const ve = eol > pos && text.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
    const ls = pos;
    pos = eol + 1;
    if (ve === ls || text.charCodeAt(ls) === 35 /* # */) continue;
    const colon = text.indexOf(':', ls);
    if (colon < 0 || colon >= ve) continue;
    const vs = colon + 1;
    const klen = colon - ls;
    const c0 = text.charCodeAt(ls);
    if (c0 === 115 /* s */ && klen > 5 && text.startsWith('slave', ls) && isDigitAt(text, ls + 5)) {
      const value = text.slice(vs, ve);
      if (value.includes('=')) {
        out.replicas.push(replicaOf(text.slice(ls, colon), value));
        continue;
      }
    } else if (c0 === 100 /* d */ && klen > 2 && text.charCodeAt(ls + 1) === 98 /* b */ && isDigitAt(text, ls + 2)) {
      const value = text.slice(vs, ve);
      if (value.includes('=')) {
        out.keyspace.push(keyspaceOf(text.slice(ls, colon), value));
        continue;
      }
    } else if (c0 === 99 /* c */ && text.startsWith('cmdstat_', ls) && klen >= 8) {
      cols.cmd(
        text.slice(ls + 8, colon),
        intOf(subNum(text, vs, ve, 'calls')),
        intOf(subNum(text, vs, ve, 'usec')),
        floatOf(subNum(text, vs, ve, 'usec_per_call')),
        intOf(subNum(text, vs, ve, 'rejected_calls')),
        intOf(subNum(text, vs, ve, 'failed_calls')),
      );
      continue;
    } else if (c0 === 108 /* l */ && klen >= 25 && text.startsWith('latency_percentiles_usec_', ls)) {
      cols.lat(
        text.slice(ls + 25, colon),
        floatOf(subNum(text, vs, ve, 'p50')),
        floatOf(subNum(text, vs, ve, 'p99')),
        floatOf(subNum(text, vs, ve, 'p99.9')),
      );
      continue;
    } else if (c0 === 101 /* e */ && klen >= 10 && text.startsWith('errorstat_', ls)) {
      out.errorstats.push({ error: text.slice(ls + 10, colon), count: intOf(subNum(text, vs, ve, 'count')) });
      continue;
    }
    if (klen >= 6 && text.startsWith('_human', colon - 6)) continue;
    const index = schemaIndex(text, ls, colon);
    const name = index < 0 ? text.slice(ls, colon) : undefined;
    const type = typeAt(text, vs, ve);
    const slot = picks.slotOf(index, name);
    if (type === STR) {
      const value = text.slice(vs, ve);
      if (name === undefined) cols.str(index, value);
      else cols.otherStr(name, value);
      if ((name ?? REDIS_FIELD_NAMES[index]) === 'role') out.role = value;
      if (slot >= 0) {
        picks.str[slot] = value;
        picks.num[slot] = NaN;
      }
      continue;
    }
    const v = typedNumber;
    if (type === INT) {
      if (name === undefined) cols.int(index, v);
      else cols.otherInt(name, v);
      if (index === MASTER_REPL_OFFSET || name === 'master_repl_offset') masterOffset = v;
    } else if (name === undefined) cols.float(index, v);
    else cols.otherFloat(name, v);
    if (slot >= 0) {
      picks.num[slot] = v;
      picks.str[slot] = undefined;
    }
  }
  for (const r of out.replicas) r.lagBytes = masterOffset === undefined ? 0 : Math.max(0, masterOffset - r.offset);
  return out;
}
const MASTER_REPL_OFFSET = REDIS_FIELD_INDEX.get('master_repl_offset') ?? -2;
