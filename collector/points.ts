// Report -> points. proto/schema.ts is the only source of measurement, tag and
// field names and of each field's pinned type: every value is coerced to that
// type here, so no sink ever sees a field change type. Hot path: one pass over
// each sample, tag objects shared between points of the same series shape.
import {
  HOST_TAGS,
  MEASUREMENTS,
  infoPicker,
  parseQueueEntry,
  splitInstanceFields,
  valueOf,
  type DashboardSample,
  type FieldType,
  type InfoPicker,
  type MeasurementDef,
  type ProxySample,
  type RedisRates,
  type Report,
  type RedisSample,
  type SentinelSample,
} from '../proto/index.js';
import { mergeRecords } from '../common/index.js';

export type FieldValue = number | string;
export type Tags = Record<string, string>;

export interface Point {
  measurement: string;
  tags: Tags;
  fields: Record<string, FieldValue>;
  /** Unix milliseconds (all points are written with ms precision). */
  time: number;
}

/**
 * What a consumer of points reads, per measurement: every field ('all'), only these fields, or
 * nothing (undefined: no point of that measurement is built). The alert rules' inputs.
 */
export type FieldNeeds = (measurement: string) => ReadonlySet<string> | 'all' | undefined;

export interface PointOptions {
  /** Leave the Redis samples out (their line protocol is written straight from the samples: report-lines.ts). */
  skipRedis?: boolean;
  /** Build the Redis samples' points only as far as these needs go. */
  need?: FieldNeeds;
}

/** What the collector knows about the sending host from its hello. */
export interface PointSource {
  hostId: string;
  labels: Record<string, string>;
}

export const M = {
  host: MEASUREMENTS.host!,
  redis: MEASUREMENTS.redis!,
  replica: MEASUREMENTS.redis_replica!,
  keyspace: MEASUREMENTS.redis_keyspace!,
  cmdstat: MEASUREMENTS.redis_cmdstat!,
  latency: MEASUREMENTS.redis_latency!,
  errorstat: MEASUREMENTS.redis_errorstat!,
  slowlog: MEASUREMENTS.redis_slowlog!,
  event: MEASUREMENTS.event!,
  persistence: MEASUREMENTS.persistence!,
  guard: MEASUREMENTS.guard!,
  codis: MEASUREMENTS.codis_proxy!,
  codisCmd: MEASUREMENTS.codis_proxy_cmd!,
  codisGroup: MEASUREMENTS.codis_proxy_group!,
  dashboard: MEASUREMENTS.codis_dashboard!,
  twemproxy: MEASUREMENTS.twemproxy!,
  twemPool: MEASUREMENTS.twemproxy_pool!,
  twemServer: MEASUREMENTS.twemproxy_server!,
  sentinel: MEASUREMENTS.sentinel!,
  sentinelMaster: MEASUREMENTS.sentinel_master!,
};

/** ProxySample kind → its measurement, and item kind → the item measurement. */
const PROXY_MEASUREMENTS: Record<string, { sample: MeasurementDef; items: Record<string, MeasurementDef> }> = {
  codis: { sample: M.codis, items: { command: M.codisCmd, group: M.codisGroup } },
  twemproxy: { sample: M.twemproxy, items: { pool: M.twemPool, server: M.twemServer } },
};

/** DashboardSample item kind → its measurement. */
const DASHBOARD_ITEMS: Record<string, MeasurementDef> = {
  group: MEASUREMENTS.codis_dashboard_group!,
  server: MEASUREMENTS.codis_dashboard_server!,
  sentinel: MEASUREMENTS.codis_dashboard_sentinel!,
  proxy: MEASUREMENTS.codis_dashboard_proxy!,
};

/** schema field name -> the camelCase key of the proto message it comes from. */
const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const keyMap = (def: MeasurementDef, skip: (f: string) => boolean = () => false): [string, string][] =>
  Object.keys(def.fields)
    .filter((f) => !skip(f))
    .map((f) => [f, camel(f)]);

const HEADROOM_PREFIX = 'headroom_';
const AGENT_PREFIX = 'agent_';

// Compile-time complete list of RedisRates keys: the redis fields named after one are rates.
const RATE_SOURCE_KEYS: Record<keyof RedisRates, true> = {
  valid: true,
  opsPerSec: true,
  netInputBytesPerSec: true,
  netOutputBytesPerSec: true,
  keyspaceHitRatio: true,
  evictedKeysPerSec: true,
  expiredKeysPerSec: true,
  rejectedConnectionsPerSec: true,
};
export const RATE_KEYS = keyMap(M.redis, (f) => f === 'valid' || !(camel(f) in RATE_SOURCE_KEYS));
export const HEADROOM_KEYS = Object.keys(M.redis.fields)
  .filter((f) => f.startsWith(HEADROOM_PREFIX))
  .map((f): [string, string] => [f, camel(f.slice(HEADROOM_PREFIX.length))]);
// host: agent_* from AgentStats, the rest from HostMetrics or Capacity (disjoint names).
const HOST_KEYS = keyMap(M.host, (f) => f.startsWith(AGENT_PREFIX));
const AGENT_KEYS = Object.keys(M.host.fields)
  .filter((f) => f.startsWith(AGENT_PREFIX))
  .map((f): [string, string] => [f, camel(f.slice(AGENT_PREFIX.length))]);
export const REPLICA_KEYS = keyMap(M.replica);
export const KEYSPACE_KEYS = keyMap(M.keyspace);
export const CMDSTAT_KEYS = keyMap(M.cmdstat);
export const LATENCY_KEYS = keyMap(M.latency);
export const ERRORSTAT_KEYS = keyMap(M.errorstat);
export const SLOWLOG_KEYS = keyMap(M.slowlog);

/** A value coerced to the field's pinned type, or undefined when it cannot be (NaN, Infinity, junk). */
export function coerce(type: FieldType, v: unknown): FieldValue | undefined {
  switch (type) {
    case 'int':
    case 'float': {
      let n: number;
      if (typeof v === 'number') n = v;
      else if (typeof v === 'boolean') n = v ? 1 : 0;
      else if (typeof v === 'string' && v.trim() !== '') n = Number(v);
      else return undefined;
      if (!Number.isFinite(n)) return undefined;
      return type === 'int' ? Math.trunc(n) : n;
    }
    case 'string':
      if (typeof v === 'string') return v;
      if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
      return undefined;
  }
}

/** Sets `fields[name]` per the schema: pinned type, or float for unlisted numbers when allowed. */
function put(def: MeasurementDef, fields: Record<string, FieldValue>, name: string, v: unknown): void {
  putTyped(def, fields, name, def.fields[name]?.type, v);
}

/** put() with the field's pinned type already looked up (undefined: not in the schema). */
function putTyped(def: MeasurementDef, fields: Record<string, FieldValue>, name: string, type: FieldType | undefined, v: unknown): void {
  if (type) {
    const c = coerce(type, v);
    if (c !== undefined) fields[name] = c;
  } else if (def.otherNumericFields === 'float' && typeof v === 'number' && Number.isFinite(v)) {
    fields[name] = v;
  }
}

function putAll(def: MeasurementDef, fields: Record<string, FieldValue>, keys: [string, string][], src: object): void {
  const o = src as Record<string, unknown>;
  for (let i = 0; i < keys.length; i++) {
    const [name, key] = keys[i]!;
    put(def, fields, name, o[key]);
  }
}

// Tag values are free text from agents: no control characters (they would break
// line protocol), and an empty tag is omitted rather than written.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;
/** A tag value as written: control characters blanked; '' = the tag is left out. */
export function cleanTag(v: string | undefined): string {
  if (!v) return '';
  // A loop over the code units: cheaper than the regular expression on the short texts tags are.
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return v.replace(CONTROL, ' ').trim();
  }
  return v;
}

function setTag(tags: Tags, name: string, v: string | undefined): void {
  const clean = cleanTag(v);
  if (clean) tags[name] = clean;
}

export function hostTags(src: PointSource): Tags {
  const tags: Tags = {};
  setTag(tags, 'host', src.hostId);
  for (const t of HOST_TAGS) if (t !== 'host') setTag(tags, t, src.labels[t]);
  return tags;
}

export function instanceTags(base: Tags, s: RedisSample): Tags {
  const tags = mergeRecords<Tags>(base);
  setTag(tags, 'instance', s.address);
  if (s.up) setTag(tags, 'role', s.role);
  setTag(tags, 'cluster', s.cluster);
  setTag(tags, 'group', s.group);
  return tags;
}

export function withTag(base: Tags, name: string, v: string | undefined): Tags {
  const tags = mergeRecords<Tags>(base);
  setTag(tags, name, v);
  return tags;
}

function emit(out: Point[], measurement: string, tags: Tags, fields: Record<string, FieldValue>, time: number): void {
  for (const _ in fields) {
    out.push({ measurement, tags, fields, time });
    return;
  }
}

/**
 * A row's point with the fields of `keys` (narrowed from `all`): emitted when the full point would
 * be, even without one of the named fields, so the rules see the same series as with every field.
 */
function emitRow(
  out: Point[],
  def: MeasurementDef,
  tags: Tags,
  row: object,
  keys: [string, string][],
  all: [string, string][],
  time: number,
): void {
  const f: Record<string, FieldValue> = {};
  putAll(def, f, keys, row);
  for (const _ in f) {
    out.push({ measurement: def.name, tags, fields: f, time });
    return;
  }
  if (keys === all) return;
  const full: Record<string, FieldValue> = {};
  putAll(def, full, all, row);
  for (const _ in full) {
    out.push({ measurement: def.name, tags, fields: f, time });
    return;
  }
}

/**
 * The rules' tag objects, kept per hello (`src`) from report to report: the evaluator works out a
 * series' identity once per tags object (rules/evaluate.ts). Kept tags are never changed.
 */
interface KeptTags {
  base: Tags;
  instances: Map<string, KeptInstance>;
}
/** An instance's tags (and its replica rows'), valid while its role, cluster and group are these. */
interface KeptInstance {
  role: string;
  cluster: string;
  group: string;
  tags: Tags;
  replicas: Map<string, { state: string; tags: Tags }>;
}
const keptTags = new WeakMap<PointSource, KeptTags>();
/** Instances (or replicas of one) come and go seldom; past this many the map starts over. */
const KEPT_TAGS_MAX = 4096;

function keptFor(src: PointSource): KeptTags {
  let k = keptTags.get(src);
  if (!k) keptTags.set(src, (k = { base: hostTags(src), instances: new Map() }));
  return k;
}

function keptInstance(k: KeptTags, s: RedisSample): KeptInstance {
  const role = s.up ? s.role : '';
  let i = k.instances.get(s.address);
  if (!i || i.role !== role || i.cluster !== s.cluster || i.group !== s.group) {
    if (!i && k.instances.size >= KEPT_TAGS_MAX) k.instances.clear();
    i = { role, cluster: s.cluster, group: s.group, tags: instanceTags(k.base, s), replicas: new Map() };
    k.instances.set(s.address, i);
  }
  return i;
}

/** An instance's tags, the same object from report to report of one hello while its role, cluster and group stay (kept tags are never changed). */
export function keptInstanceTags(src: PointSource, s: RedisSample): Tags {
  return keptInstance(keptFor(src), s).tags;
}

function replicaTags(tags: Tags, at: string, state: string): Tags {
  const rt = withTag(tags, 'replica', at);
  setTag(rt, 'state', state);
  return rt;
}

function redisPoints(s: RedisSample, base: Tags, reportTime: number, out: Point[], need?: FieldNeeds, keep?: KeptTags): void {
  const time = s.sampledAtMs || reportTime;
  const kept = keep && keptInstance(keep, s);
  const tags = kept ? kept.tags : instanceTags(base, s);
  const want = (m: MeasurementDef) => !need || need(m.name) !== undefined;
  if (want(M.redis)) redisPoint(s, tags, time, out, need?.(M.redis.name));
  if (want(M.replica)) {
    const keys = keysFor(REPLICA_KEYS, need?.(M.replica.name));
    for (const r of s.replicas) {
      const at = `${r.ip}:${r.port}`;
      let rt: Tags;
      if (kept) {
        let e = kept.replicas.get(at);
        if (!e || e.state !== r.state) {
          if (!e && kept.replicas.size >= KEPT_TAGS_MAX) kept.replicas.clear();
          kept.replicas.set(at, (e = { state: r.state, tags: replicaTags(tags, at, r.state) }));
        }
        rt = e.tags;
      } else rt = replicaTags(tags, at, r.state);
      emitRow(out, M.replica, rt, r, keys, REPLICA_KEYS, time);
    }
  }
  if (want(M.keyspace)) rowPoints(out, M.keyspace, KEYSPACE_KEYS, s.keyspace, tags, 'db', (k) => k.db, time, need?.(M.keyspace.name));
  if (want(M.cmdstat))
    rowPoints(out, M.cmdstat, CMDSTAT_KEYS, s.commandstats, tags, 'command', (c) => c.command, time, need?.(M.cmdstat.name));
  if (want(M.latency))
    rowPoints(out, M.latency, LATENCY_KEYS, s.latencystats, tags, 'command', (l) => l.command, time, need?.(M.latency.name));
  if (want(M.errorstat))
    rowPoints(out, M.errorstat, ERRORSTAT_KEYS, s.errorstats, tags, 'error', (e) => e.error, time, need?.(M.errorstat.name));
  if (want(M.slowlog))
    rowPoints(
      out,
      M.slowlog,
      SLOWLOG_KEYS,
      s.slowlog,
      tags,
      'command_name',
      (e) => slowlogCommand(e.command),
      slowlogTime,
      need?.(M.slowlog.name),
    );
}

/** One point of `def` per row, tagged `tag` = tagOf(row), at `time` (or the row's own time). */
function rowPoints<T extends object>(
  out: Point[],
  def: MeasurementDef,
  all: [string, string][],
  rows: readonly T[],
  tags: Tags,
  tag: string,
  tagOf: (row: T) => string,
  time: number | ((row: T) => number),
  need?: ReadonlySet<string> | 'all',
): void {
  const keys = keysFor(all, need);
  for (const r of rows) emitRow(out, def, withTag(tags, tag, tagOf(r)), r, keys, all, typeof time === 'number' ? time : time(r));
}

/** The slowlog entry's command name (its first word, lower case): the `command_name` tag. */
export function slowlogCommand(command: string): string {
  const sp = command.indexOf(' ');
  return (sp < 0 ? command : command.slice(0, sp)).toLowerCase();
}

/** ms precision everywhere: the entry's second plus (id % 1000) ms keeps entries logged within the same second apart. */
export const slowlogTime = (e: { timestamp: number; id: number }): number => e.timestamp * 1000 + (e.id % 1000);

/** What a `redis` point for the rules reads, worked out once per field set (the rules' sets are kept while their rules are). */
interface RedisPlan {
  names: string[];
  /** Each name's pinned type (undefined: not in the schema), as put() would look it up. */
  types: (FieldType | undefined)[];
  pick: InfoPicker;
  /** Which of the fields the collector sets from the sample itself are wanted. */
  up: boolean;
  error: boolean;
  maxmemory: boolean;
  maxclients: boolean;
  unavailable: boolean;
  rates: [string, string][];
  headroom: [string, string][];
}

const redisPlans = new WeakMap<ReadonlySet<string>, RedisPlan>();

function redisPlan(only: ReadonlySet<string>): RedisPlan {
  let plan = redisPlans.get(only);
  if (!plan) {
    const names = [...only];
    plan = {
      names,
      types: names.map((n) => M.redis.fields[n]?.type),
      pick: infoPicker(names),
      up: only.has('up'),
      error: only.has('error'),
      maxmemory: only.has('maxmemory'),
      maxclients: only.has('maxclients'),
      unavailable: only.has('unavailable'),
      rates: RATE_KEYS.filter(([f]) => only.has(f)),
      headroom: HEADROOM_KEYS.filter(([f]) => only.has(f)),
    };
    redisPlans.set(only, plan);
  }
  return plan;
}

/** `keys` narrowed to the fields `need` names (every one for 'all'), per field set. */
const narrowed = new WeakMap<ReadonlySet<string>, Map<[string, string][], [string, string][]>>();
function keysFor(keys: [string, string][], need: ReadonlySet<string> | 'all' | undefined): [string, string][] {
  if (need === undefined || need === 'all') return keys;
  let m = narrowed.get(need);
  if (!m) narrowed.set(need, (m = new Map()));
  let k = m.get(keys);
  if (!k) m.set(keys, (k = keys.filter(([f]) => need.has(f))));
  return k;
}

/** The `redis` point of a sample (`only`: just those fields, for the alert rules). */
function redisPoint(s: RedisSample, tags: Tags, time: number, out: Point[], only: ReadonlySet<string> | 'all' | undefined): void {
  const fields: Record<string, FieldValue> = {};
  const def = M.redis;
  if (only === undefined || only === 'all') {
    const info = s.info;
    for (const k in info) put(def, fields, k, valueOf(info[k]));
    put(def, fields, 'up', s.up ? 1 : 0);
    put(def, fields, 'error', s.error);
    if (s.maxmemory >= 0) put(def, fields, 'maxmemory', s.maxmemory);
    if (s.maxclients >= 0) put(def, fields, 'maxclients', s.maxclients);
    if (s.rates?.valid) putAll(def, fields, RATE_KEYS, s.rates);
    // limitSource is '' when the agent could not work out a limit: no headroom then.
    if (s.headroom?.limitSource) putAll(def, fields, HEADROOM_KEYS, s.headroom);
    put(def, fields, 'unavailable', s.unavailable.join(','));
  } else {
    // The same values as the full point's, for the named fields only.
    const plan = redisPlan(only);
    const values = plan.pick(s);
    // Each field's type looked up once per plan.
    for (let j = 0; j < values.length; j++) if (values[j] !== undefined) putTyped(def, fields, plan.names[j]!, plan.types[j], values[j]);
    if (plan.up) put(def, fields, 'up', s.up ? 1 : 0);
    if (plan.error) put(def, fields, 'error', s.error);
    if (plan.maxmemory && s.maxmemory >= 0) put(def, fields, 'maxmemory', s.maxmemory);
    if (plan.maxclients && s.maxclients >= 0) put(def, fields, 'maxclients', s.maxclients);
    if (plan.rates.length && s.rates?.valid) putAll(def, fields, plan.rates, s.rates);
    if (plan.headroom.length && s.headroom?.limitSource) putAll(def, fields, plan.headroom, s.headroom);
    if (plan.unavailable) put(def, fields, 'unavailable', s.unavailable.join(','));
    // The full point always has `up`: the rules see the sample (absence, stale series) even when none of their fields is in it.
    out.push({ measurement: def.name, tags, fields, time });
    return;
  }
  emit(out, def.name, tags, fields, time);
}

/**
 * Every point of one report, appended to `out` (returned). Timestamps: the report's
 * for `host`, each sample's sampledAtMs for instance points, the entry's own for
 * slowlog entries and events.
 */
export function reportPoints(report: Report, src: PointSource, out: Point[] = [], opts: PointOptions = {}): Point[] {
  const need = opts.need;
  const keep = need && keptFor(src);
  const base = keep ? keep.base : hostTags(src);
  const time = report.timestampMs;
  // With `need`, a block whose measurements are all unread is not built.
  const want = (defs: readonly MeasurementDef[]) => !need || defs.some((d) => need(d.name) !== undefined);

  if (want([M.host])) {
    const hf: Record<string, FieldValue> = {};
    if (report.host) putAll(M.host, hf, HOST_KEYS, report.host);
    if (report.capacity) putAll(M.host, hf, HOST_KEYS, report.capacity);
    if (report.agent) putAll(M.host, hf, AGENT_KEYS, report.agent);
    emit(out, M.host.name, base, hf, time);
  }

  if (!opts.skipRedis) for (const s of report.redis) redisPoints(s, base, time, out, need, keep);

  if (want(PROXY_DEFS)) for (const p of report.proxies) proxyPoints(p, base, time, out);
  if (want(DASHBOARD_DEFS)) for (const d of report.dashboards ?? []) dashboardPoints(d, base, time, out);

  if (report.persistence && want([M.persistence])) persistencePoints(report, base, time, out);
  if (report.guard && want([M.guard])) guardPoints(report, base, time, out);
  if (want([M.sentinel, M.sentinelMaster])) for (const s of report.sentinels ?? []) sentinelPoints(s, base, time, out);

  if (want([M.event]))
    for (const ev of report.events) {
      const tags = withTag(base, 'kind', ev.kind);
      setTag(tags, 'instance', ev.instance);
      const f: Record<string, FieldValue> = {};
      put(M.event, f, 'message', ev.message);
      put(M.event, f, 'attrs', JSON.stringify(ev.attrs ?? {}));
      put(M.event, f, 'count', 1);
      emit(out, M.event.name, tags, f, ev.timestampMs || time);
    }
  return out;
}

const PROXY_DEFS = Object.values(PROXY_MEASUREMENTS).flatMap((d) => [d.sample, ...Object.values(d.items)]);
const DASHBOARD_DEFS = [M.dashboard, ...Object.values(DASHBOARD_ITEMS)];

/** A proxy sample → its proxy-level point and one point per item (command, group, pool, server). */
function proxyPoints(p: ProxySample, base: Tags, time: number, out: Point[]): void {
  const defs = PROXY_MEASUREMENTS[p.kind];
  if (!defs) return; // validated at ingest; an unknown kind from a newer agent is skipped
  const tags = withTag(base, 'proxy', p.address);
  setTag(tags, 'name', p.name);
  samplePoints(p, tags, defs, time, out);
}

/** A codis-dashboard sample → its `codis_dashboard` point and one point per group, server, Sentinel and proxy. */
function dashboardPoints(d: DashboardSample, base: Tags, time: number, out: Point[]): void {
  const tags = withTag(base, 'dashboard', d.address);
  setTag(tags, 'product', d.product);
  samplePoints(d, tags, { sample: M.dashboard, items: DASHBOARD_ITEMS }, time, out);
}

function samplePoints(
  p: ProxySample | DashboardSample,
  tags: Tags,
  defs: { sample: MeasurementDef; items: Record<string, MeasurementDef> },
  time: number,
  out: Point[],
): void {
  const fields: Record<string, FieldValue> = {};
  for (const k in p.fields) put(defs.sample, fields, k, valueOf(p.fields[k]));
  put(defs.sample, fields, 'up', p.up ? 1 : 0);
  put(defs.sample, fields, 'error', p.error);
  emit(out, defs.sample.name, tags, fields, time);
  for (const it of p.items) {
    const def = defs.items[it.kind];
    if (!def) continue;
    const itTags = mergeRecords<Tags>(tags);
    for (const t of def.tags) if (!(t in itTags)) setTag(itTags, t, it.tags[t]);
    const f: Record<string, FieldValue> = {};
    for (const k in it.fields) put(def, f, k, valueOf(it.fields[k]));
    emit(out, def.name, itTags, f, time);
  }
}

/** One `persistence` point per instance of the report's scheduler state, tagged like its redis sample. */
function persistencePoints(report: Report, base: Tags, time: number, out: Point[]): void {
  const ps = report.persistence!;
  const def = M.persistence;
  const positions = new Map<string, number>();
  (ps.queue ?? []).forEach((e, n) => {
    const { address } = parseQueueEntry(e);
    if (!positions.has(address)) positions.set(address, n + 1);
  });
  const samples = new Map(report.redis.map((s) => [s.address, s]));
  for (const [address, raw] of splitInstanceFields(ps).instances) {
    const sample = samples.get(address);
    const tags = sample ? instanceTags(base, sample) : withTag(base, 'instance', address);
    const fields: Record<string, FieldValue> = {};
    for (const k in raw) put(def, fields, k, valueOf(raw[k]));
    const managed = valueOf(raw.managed) === 1;
    const reason = valueOf(raw.unmanaged_reason);
    put(def, fields, 'management', managed ? 'managed' : reason === 'opt-out' ? 'opt-out' : 'unmanaged');
    put(def, fields, 'token', ps.tokenHolder === address ? 1 : 0);
    put(def, fields, 'running', raw.running_kind ? 1 : 0);
    put(def, fields, 'queue_position', positions.get(address) ?? 0);
    emit(out, def.name, tags, fields, time);
  }
}

/** One `guard` point per guarded instance, tagged like its redis sample, with the host-wide ZooKeeper / Sentinel view. */
function guardPoints(report: Report, base: Tags, time: number, out: Point[]): void {
  const g = report.guard!;
  const def = M.guard;
  const { host, instances } = splitInstanceFields(g);
  const samples = new Map(report.redis.map((s) => [s.address, s]));
  for (const [address, raw] of instances) {
    const sample = samples.get(address);
    const tags = sample ? instanceTags(base, sample) : withTag(base, 'instance', address);
    const fields: Record<string, FieldValue> = {};
    for (const k in raw) put(def, fields, k, valueOf(raw[k]));
    put(def, fields, 'zk_state', g.zkState);
    for (const k of ['zk_consecutive_failures', 'sentinels_answered', 'sentinels_total'])
      if (host[k]) put(def, fields, k, valueOf(host[k]));
    emit(out, def.name, tags, fields, time);
  }
}

/** One `sentinel` point per sampled Sentinel and one `sentinel_master` point per master it monitors. */
function sentinelPoints(s: SentinelSample, base: Tags, reportTime: number, out: Point[]): void {
  const time = s.sampledAtMs || reportTime;
  const tags = withTag(base, 'sentinel', s.address);
  const f: Record<string, FieldValue> = {};
  put(M.sentinel, f, 'up', s.up ? 1 : 0);
  put(M.sentinel, f, 'error', s.error);
  put(M.sentinel, f, 'tilt', s.tilt ? 1 : 0);
  put(M.sentinel, f, 'discovered', s.discovered ? 1 : 0);
  put(M.sentinel, f, 'masters', s.masters.length);
  emit(out, M.sentinel.name, tags, f, time);
  const def = M.sentinelMaster;
  for (const m of s.masters) {
    const flags = m.flags.split(',');
    const mf: Record<string, FieldValue> = {};
    put(def, mf, 'master', m.address);
    put(def, mf, 'flags', m.flags);
    put(def, mf, 'down', flags.includes('s_down') || flags.includes('o_down') ? 1 : 0);
    put(def, mf, 'failover_in_progress', flags.includes('failover_in_progress') ? 1 : 0);
    put(def, mf, 'replicas', m.replicas);
    put(def, mf, 'sentinels', m.sentinels);
    put(def, mf, 'quorum', m.quorum);
    put(def, mf, 'quorum_reachable', m.quorumReachable ? 1 : 0);
    put(def, mf, 'quorum_detail', m.quorumDetail);
    put(def, mf, 'config_epoch', m.configEpoch);
    emit(out, def.name, withTag(tags, 'master_name', m.name), mf, time);
  }
}

/** A collector-side event (e.g. host.down) as a point of the `event` measurement. */
export function eventPoint(src: PointSource, kind: string, message: string, time: number, attrs: Record<string, string> = {}): Point {
  const f: Record<string, FieldValue> = {};
  put(M.event, f, 'message', message);
  put(M.event, f, 'attrs', JSON.stringify(attrs));
  put(M.event, f, 'count', 1);
  return { measurement: M.event.name, tags: withTag(hostTags(src), 'kind', kind), fields: f, time };
}
