// Parsers for codis-proxy's admin API documents (codis 3.x; reference/codis.md §3):
// /proxy/stats and /api/proxy/stats/<xauth>[/<flags>], /proxy/model and /api/proxy/model,
// /proxy/slots and /api/proxy/slots/<xauth>, /proxy (overview), and the {Cause, Stack}
// body of an error response (HTTP 800). Pure functions over text or decoded JSON.
import { JsonReader, ProxyParseError, isObject, parseJson } from '../json.js';

export interface CodisCommandStats {
  /** Upper-cased command name (codis `opstr`). */
  command: string;
  calls: number;
  /** Total latency in µs, request decode to reply flush. */
  usecs: number;
  /** codis's own integer usecs / calls. */
  usecsPerCall: number;
  /** Per-command failures (reply not written, session died with the request queued). */
  fails: number;
  /** Error replies sent for this command (codis `redis_errtype`). */
  redisErrors: number;
}

export interface CodisRusage {
  /** Go time string of the rusage sample, monotonic suffix removed. */
  now: string;
  nowMs: number | undefined;
  /** Process CPU over ~1 s / wall time (can exceed 1 on several cores). */
  cpu: number;
  /** VmRSS bytes. */
  mem: number;
  raw?: { utimeNs: number; stimeNs: number; numThreads: number; vmSize: number; vmRss: number };
}

export interface CodisRuntimeStats {
  heapAlloc: number;
  heapInuse: number;
  heapObjects: number;
  sys: number;
  gcNum: number;
  gcTotalPauseMs: number;
  gcCpuFraction: number;
  numProcs: number;
  numGoroutines: number;
  numCgoCall: number;
  memOffheap: number;
}

export interface CodisStats {
  online: boolean;
  closed: boolean;
  sentinels: {
    servers: string[];
    /** Group id (as a string) → master address last obtained from the sentinels. */
    masters: Record<string, string>;
    /** A sentinel failover changed some slot's backend locally (until the dashboard resyncs). */
    switched: boolean;
  };
  ops: {
    total: number;
    fails: number;
    redisErrors: number;
    qps: number;
    /** Only with the StatsCmds flag (full /proxy/stats, flags 1 or 5). */
    commands: CodisCommandStats[] | undefined;
  };
  sessions: { total: number; alive: number };
  rusage: CodisRusage;
  primaryOnly: boolean;
  /** Only with the StatsRuntime flag (full /proxy/stats, flags 4 or 5). */
  runtime: CodisRuntimeStats | undefined;
}

export interface CodisProxyModel {
  /** Assigned by the dashboard; 0 for a standalone proxy. */
  id: number;
  token: string;
  /** Go time string, monotonic suffix removed. */
  startTime: string;
  startTimeMs: number | undefined;
  adminAddr: string;
  protoType: string;
  proxyAddr: string;
  productName: string;
  jodisPath: string;
  pid: number;
  pwd: string;
  sys: string;
  hostname: string;
  datacenter: string;
}

export interface CodisSlot {
  id: number;
  locked: boolean;
  /** '' when the slot is unassigned. During a migration: the target. */
  backendAddr: string;
  backendGroupId: number;
  /** Source of a migration in progress, else ''. */
  migrateFrom: string;
  migrateFromGroupId: number;
  /** 0 sync, 1 semi-async. */
  forwardMethod: number;
  replicaGroups: string[][];
}

/** The few proxy config keys a monitor needs. The rest is not kept (it includes jodis_auth). */
export interface CodisProxyConfig {
  productName: string;
  proxyMaxClients: number | undefined;
  sessionMaxPipeline: number | undefined;
  backendPrimaryOnly: boolean | undefined;
  datacenter: string;
}

export interface CodisOverview {
  version: string;
  compile: string;
  config: CodisProxyConfig | undefined;
  model: CodisProxyModel | undefined;
  stats: CodisStats | undefined;
  slots: CodisSlot[] | undefined;
}

export interface CodisErrorBody {
  cause: string;
  stack: Array<{ name: string; file: string; line: number }>;
}

const asReader = (doc: string, input: unknown): JsonReader =>
  JsonReader.root(doc, typeof input === 'string' ? parseJson(input, doc) : input);

/** Go's time.Time.String() ("2026-11-22 11:04:05.047989351 +0000 UTC m=+7.0095") without the monotonic part. */
export function stripMonotonic(goTime: string): string {
  const i = goTime.indexOf(' m=');
  return i >= 0 ? goTime.slice(0, i) : goTime;
}

/** Epoch ms of a Go time string, or undefined when it does not look like one. */
export function parseGoTime(goTime: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)? ([+-]\d{2})(\d{2})\b/.exec(goTime);
  if (!m) return undefined;
  const frac = m[3] ? m[3].slice(0, 4).padEnd(4, '0') : '';
  const ms = Date.parse(`${m[1]}T${m[2]}${frac}${m[4]}:${m[5]}`);
  return Number.isNaN(ms) ? undefined : ms;
}

function readCommand(doc: string, path: string, v: unknown): CodisCommandStats {
  const r = JsonReader.at(doc, path, v);
  return {
    command: r.str('opstr'),
    calls: r.num('calls'),
    usecs: r.num('usecs'),
    usecsPerCall: r.optNum('usecs_percall', 0),
    fails: r.optNum('fails', 0),
    redisErrors: r.optNum('redis_errtype', 0),
  };
}

function readRuntime(r: JsonReader): CodisRuntimeStats {
  const general = r.obj('general');
  const heap = r.obj('heap');
  const gc = r.obj('gc');
  return {
    heapAlloc: heap.optNum('alloc', 0),
    heapInuse: heap.optNum('inuse', 0),
    heapObjects: heap.optNum('objects', 0),
    sys: general.optNum('sys', 0),
    gcNum: gc.optNum('num', 0),
    gcTotalPauseMs: gc.optNum('total_pausems', 0),
    gcCpuFraction: gc.optNum('cpu_fraction', 0),
    numProcs: r.optNum('num_procs', 0),
    numGoroutines: r.optNum('num_goroutines', 0),
    numCgoCall: r.optNum('num_cgo_call', 0),
    memOffheap: r.optNum('mem_offheap', 0),
  };
}

/** A Stats object at any place of a document (the dashboard embeds them). */
export function readCodisStats(r: JsonReader): CodisStats {
  const ops = r.obj('ops');
  const sentinels = r.optObj('sentinels');
  const sessions = r.obj('sessions');
  const rusage = r.obj('rusage');
  const raw = rusage.optObj('raw');
  const now = stripMonotonic(rusage.optStr('now'));
  const cmd = ops.has('cmd') ? ops.arr('cmd').map((c, i) => readCommand(r.document, `${ops.keyPath('cmd')}[${i}]`, c)) : undefined;
  const runtime = r.optObj('runtime');
  return {
    online: r.bool('online'),
    closed: r.optBool('closed'),
    sentinels: {
      servers: sentinels?.strArr('servers') ?? [],
      masters: sentinels?.strMap('masters') ?? {},
      switched: sentinels?.optBool('switched') ?? false,
    },
    ops: {
      total: ops.num('total'),
      fails: ops.optNum('fails', 0),
      redisErrors: ops.optObj('redis')?.optNum('errors', 0) ?? 0,
      qps: ops.optNum('qps', 0),
      commands: cmd,
    },
    sessions: { total: sessions.num('total'), alive: sessions.num('alive') },
    rusage: {
      now,
      nowMs: parseGoTime(now),
      cpu: rusage.optNum('cpu', 0),
      mem: rusage.optNum('mem', 0),
      raw: raw && {
        utimeNs: raw.optNum('utime', 0),
        stimeNs: raw.optNum('stime', 0),
        numThreads: raw.optNum('num_threads', 0),
        vmSize: raw.optNum('vm_size', 0),
        vmRss: raw.optNum('vm_rss', 0),
      },
    },
    primaryOnly: r.optObj('backend')?.optBool('primary_only') ?? false,
    runtime: runtime && readRuntime(runtime),
  };
}

function readModel(r: JsonReader): CodisProxyModel {
  const startTime = stripMonotonic(r.str('start_time'));
  return {
    id: r.optNum('id', 0),
    token: r.str('token'),
    startTime,
    startTimeMs: parseGoTime(startTime),
    adminAddr: r.optStr('admin_addr'),
    protoType: r.optStr('proto_type'),
    proxyAddr: r.optStr('proxy_addr'),
    productName: r.str('product_name'),
    jodisPath: r.optStr('jodis_path'),
    pid: r.optNum('pid', 0),
    pwd: r.optStr('pwd'),
    sys: r.optStr('sys'),
    hostname: r.optStr('hostname'),
    datacenter: r.optStr('datacenter'),
  };
}

function readSlot(doc: string, path: string, v: unknown): CodisSlot {
  const r = JsonReader.at(doc, path, v);
  const replicaGroups = r.optArr('replica_groups').map((g, i) => {
    if (!Array.isArray(g) || !g.every((a) => typeof a === 'string')) r.fail(`replica_groups[${i}]`, 'expected an array of addresses');
    return g as string[];
  });
  return {
    id: r.num('id'),
    locked: r.optBool('locked'),
    backendAddr: r.optStr('backend_addr'),
    backendGroupId: r.optNum('backend_addr_group_id', 0),
    migrateFrom: r.optStr('migrate_from'),
    migrateFromGroupId: r.optNum('migrate_from_group_id', 0),
    forwardMethod: r.optNum('forward_method', 0),
    replicaGroups,
  };
}

function readSlots(doc: string, v: unknown, path = ''): CodisSlot[] {
  if (!Array.isArray(v)) throw new ProxyParseError(doc, path, `expected an array of slots, got ${v === null ? 'null' : typeof v}`);
  const seen = new Set<number>();
  return v.map((raw, i) => {
    const s = readSlot(doc, `${path}[${i}]`, raw);
    if (!Number.isInteger(s.id) || s.id < 0) throw new ProxyParseError(doc, `${path}[${i}].id`, `not a slot number: ${s.id}`);
    if (seen.has(s.id)) throw new ProxyParseError(doc, `${path}[${i}].id`, `slot ${s.id} listed twice`);
    seen.add(s.id);
    return s;
  });
}

function readConfig(r: JsonReader): CodisProxyConfig {
  return {
    productName: r.optStr('product_name'),
    proxyMaxClients: r.has('proxy_max_clients') ? r.num('proxy_max_clients') : undefined,
    sessionMaxPipeline: r.has('session_max_pipeline') ? r.num('session_max_pipeline') : undefined,
    backendPrimaryOnly: r.has('backend_primary_only') ? r.bool('backend_primary_only') : undefined,
    datacenter: r.optStr('proxy_datacenter'),
  };
}

/** GET /proxy/stats or /api/proxy/stats/<xauth>[/<flags>] (text or decoded JSON). */
export function parseCodisStats(input: unknown): CodisStats {
  return readCodisStats(asReader('codis stats', input));
}

/** GET /proxy/model or /api/proxy/model. */
export function parseCodisModel(input: unknown): CodisProxyModel {
  return readModel(asReader('codis model', input));
}

/** GET /proxy/slots or /api/proxy/slots/<xauth> (and the dashboard's /topom/slots). */
export function parseCodisSlots(input: unknown): CodisSlot[] {
  const doc = 'codis slots';
  return readSlots(doc, typeof input === 'string' ? parseJson(input, doc) : input);
}

/** GET /proxy: {version, compile, config, model, stats, slots}; also the metrics_report_server POST body. */
export function parseCodisOverview(input: unknown): CodisOverview {
  const doc = 'codis overview';
  const r = asReader(doc, input);
  const config = r.optObj('config');
  const model = r.optObj('model');
  const stats = r.optObj('stats');
  return {
    version: r.optStr('version'),
    compile: r.optStr('compile'),
    config: config && readConfig(config),
    model: model && readModel(model),
    stats: stats && readCodisStats(stats),
    slots: r.has('slots') ? readSlots(doc, r.value.slots, 'slots') : undefined,
  };
}

const XAUTH_IN_PATH = /\/[0-9a-f]{32}(?=[/"'\s:]|$)/gi;

/**
 * Codis puts xauth values (credentials for the mutating API) in URLs, and its error
 * causes quote those URLs. Replace them before any text leaves this module.
 */
export function redactXAuth(text: string): string {
  return text.replace(XAUTH_IN_PATH, '/<xauth>');
}

/**
 * The body of a codis error response (HTTP 800, or 1500): {"Cause": "...", "Stack": [...] | null}.
 * A body that is not of that shape yields its own (trimmed) text as the cause.
 */
export function parseCodisError(body: string): CodisErrorBody {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    v = undefined;
  }
  if (isObject(v) && typeof v.Cause === 'string') {
    const stack = Array.isArray(v.Stack)
      ? v.Stack.filter(isObject).map((f) => ({
          name: typeof f.Name === 'string' ? f.Name : '',
          file: typeof f.File === 'string' ? f.File : '',
          line: typeof f.Line === 'number' ? f.Line : 0,
        }))
      : [];
    return { cause: redactXAuth(v.Cause), stack };
  }
  const text = body.trim();
  return { cause: redactXAuth(text.length > 200 ? `${text.slice(0, 200)}…` : text) || '(empty body)', stack: [] };
}

/** A non-200 answer of a codis admin API. `path` never contains an xauth. */
export class CodisApiError extends Error {
  override name = 'CodisApiError';
  constructor(
    readonly status: number,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`codis ${path}: HTTP ${status}: ${reason}`);
  }
}
