// INFO ALL text → typed scalars plus the structured sections (replicas, keyspace,
// commandstats, latencystats, errorstats). One pass over the text, no regex per line:
// it runs for every instance on every tick.
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
    const f = subFields(value);
    out.replicas.push({
      id: key,
      ip: f.get('ip') ?? '',
      port: int(f.get('port')),
      state: f.get('state') ?? '',
      offset: int(f.get('offset')),
      lagSeconds: int(f.get('lag')),
      lagBytes: 0,
    });
    return;
  }
  if (c0 === 100 /* d */ && key.length > 2 && key.charCodeAt(1) === 98 /* b */ && isDigit(key.charCodeAt(2)) && value.includes('=')) {
    const f = subFields(value);
    out.keyspace.push({ db: key, keys: int(f.get('keys')), expires: int(f.get('expires')), avgTtl: int(f.get('avg_ttl')) });
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
