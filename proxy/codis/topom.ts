// Parsers for codis-dashboard ("topom") documents (reference/codis.md §5): /topom/stats,
// /topom/model, /topom (overview), /api/topom/group/info/<addr>,
// /api/topom/sentinels/info/<addr>[/monitored]. The dashboard aggregates every group
// server's INFO, every sentinel's view and every proxy's stats of one product, so the
// collector can compare proxy routes with the Sentinel majority from one request.
import { JsonReader, ProxyParseError, isObject, parseJson } from '../json.js';
import { parseGoTime, readCodisStats, redactXAuth, stripMonotonic, type CodisStats } from './parse.js';

export type TopomTargetState = 'ok' | 'error' | 'timeout' | 'missing';

export interface TopomServer {
  addr: string;
  datacenter: string;
  /** The dashboard's role: servers[0] of a group is its master by definition. */
  role: 'master' | 'replica';
  /** Replication-sync action: '', pending, syncing, synced, synced_failed. */
  actionState: string;
  replicaGroup: boolean;
  /** Whether the dashboard's last INFO of this server worked. */
  state: TopomTargetState;
  error: string;
  /** INFO role as the server says it (master | slave), '' when unknown. */
  infoRole: string;
  /** The master this server replicates from (dashboard's `master_addr`), '' for a master. */
  masterAddr: string;
  masterLinkStatus: string;
  maxmemory: number | undefined;
  /** Every INFO field the dashboard stored (strings, as codis keeps them). */
  info: Record<string, string>;
  unixtime: number;
}

export interface TopomGroup {
  id: number;
  /** servers[0]: the dashboard's master ('' for an empty group). */
  master: string;
  servers: TopomServer[];
  /** The stored group differs from what proxies and servers were last told (e.g. after a failover). */
  outOfSync: boolean;
  promotingState: string;
}

export interface TopomProxy {
  id: number;
  token: string;
  adminAddr: string;
  proxyAddr: string;
  productName: string;
  startTime: string;
  startTimeMs: number | undefined;
  datacenter: string;
  /** online / offline / closed from the proxy's stats; error / timeout / missing when the dashboard could not read them. */
  state: 'online' | 'offline' | 'closed' | 'error' | 'timeout' | 'missing';
  error: string;
  stats: CodisStats | undefined;
  unixtime: number;
}

export interface TopomMonitoredMaster {
  /** Sentinel master name, `{product}-{gid}` for codis. */
  name: string;
  /** Group id parsed from the name, undefined if it is not `{product}-{int}`. */
  group: number | undefined;
  /** ip:port of the master this sentinel reports. */
  master: string;
  flags: string[];
  configEpoch: number;
  quorum: number;
  numSlaves: number;
  numOtherSentinels: number;
  /** ip:port of each replica this sentinel knows, with its flags. */
  slaves: Array<{ addr: string; flags: string[]; masterLinkStatus: string }>;
}

export interface TopomSentinel {
  addr: string;
  state: TopomTargetState;
  error: string;
  monitored: TopomMonitoredMaster[];
  unixtime: number;
}

export interface TopomSlotMapping {
  id: number;
  groupId: number;
  /** '', pending, preparing, prepared, migrating, finished. */
  actionState: string;
  actionIndex: number;
  targetId: number;
}

export interface TopomStats {
  closed: boolean;
  slots: TopomSlotMapping[];
  groups: TopomGroup[];
  proxies: TopomProxy[];
  sentinels: {
    servers: string[];
    outOfSync: boolean;
    /** Group id → master address according to the dashboard's own sentinel watch. */
    masters: Record<string, string>;
    stats: TopomSentinel[];
  };
  slotAction: { interval: number; disabled: boolean; progress: string; executor: number };
}

export interface TopomModel {
  token: string;
  startTime: string;
  startTimeMs: number | undefined;
  adminAddr: string;
  productName: string;
  pid: number;
  pwd: string;
  sys: string;
}

const asReader = (doc: string, input: unknown): JsonReader =>
  JsonReader.root(doc, typeof input === 'string' ? parseJson(input, doc) : input);

function remoteError(r: JsonReader): string {
  const e = r.optObj('error');
  if (!e) return '';
  return redactXAuth(e.optStr('Cause', 'error without a cause'));
}

function targetState(r: JsonReader | undefined, hasPayload: boolean): TopomTargetState {
  if (!r) return 'missing';
  if (r.optBool('timeout')) return 'timeout';
  if (r.has('error')) return 'error';
  return hasPayload ? 'ok' : 'missing';
}

function readMonitored(doc: string, path: string, name: string, v: unknown): TopomMonitoredMaster {
  const r = JsonReader.at(doc, path, v);
  const m = r.strMap('master');
  const n = (k: string) => {
    const x = Number(m[k]);
    return Number.isFinite(x) ? x : 0;
  };
  const g = /-(\d+)$/.exec(name);
  const slaves = r.optArr('slaves').map((s, i) => {
    const sr = JsonReader.at(doc, `${path}.slaves[${i}]`, s);
    const fields: Record<string, string> = {};
    for (const [k, val] of Object.entries(sr.value)) if (typeof val === 'string') fields[k] = val;
    return {
      addr: `${fields.ip ?? ''}:${fields.port ?? ''}`,
      flags: (fields.flags ?? '').split(',').filter(Boolean),
      masterLinkStatus: fields['master-link-status'] ?? '',
    };
  });
  return {
    name,
    group: g ? Number(g[1]) : undefined,
    master: m.ip !== undefined && m.port !== undefined ? `${m.ip}:${m.port}` : '',
    flags: (m.flags ?? '').split(',').filter(Boolean),
    configEpoch: n('config-epoch'),
    quorum: n('quorum'),
    numSlaves: n('num-slaves'),
    numOtherSentinels: n('num-other-sentinels'),
    slaves,
  };
}

function readMonitoredMap(doc: string, path: string, v: unknown): TopomMonitoredMaster[] {
  if (v === undefined || v === null) return [];
  if (!isObject(v)) throw new ProxyParseError(doc, path, 'expected an object of sentinel masters');
  return Object.entries(v)
    .map(([name, g]) => readMonitored(doc, `${path}.${name}`, name, g))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function readTopomStats(r: JsonReader): TopomStats {
  const doc = r.document;
  const group = r.obj('group');
  const groupStats = group.optObj('stats');
  const groups: TopomGroup[] = group.optArr('models').map((g, gi) => {
    const gr = JsonReader.at(doc, `group.models[${gi}]`, g);
    const servers = gr.optArr('servers').map((s, si): TopomServer => {
      const sr = JsonReader.at(doc, `${gr.path}.servers[${si}]`, s);
      const addr = sr.str('server');
      const st = groupStats?.optObj(addr);
      const info: Record<string, string> = {};
      const statsObj = st?.optObj('stats');
      if (statsObj) for (const [k, v] of Object.entries(statsObj.value)) if (typeof v === 'string') info[k] = v;
      const maxmemory = info.maxmemory !== undefined && info.maxmemory !== '' ? Number(info.maxmemory) : undefined;
      return {
        addr,
        datacenter: sr.optStr('datacenter'),
        role: si === 0 ? 'master' : 'replica',
        actionState: sr.optObj('action')?.optStr('state') ?? '',
        replicaGroup: sr.optBool('replica_group'),
        state: targetState(st, statsObj !== undefined),
        error: st ? remoteError(st) : '',
        infoRole: info.role ?? '',
        masterAddr: info.master_addr ?? '',
        masterLinkStatus: info.master_link_status ?? '',
        maxmemory: maxmemory !== undefined && Number.isFinite(maxmemory) ? maxmemory : undefined,
        info,
        unixtime: st?.optNum('unixtime', 0) ?? 0,
      };
    });
    return {
      id: gr.num('id'),
      master: servers[0]?.addr ?? '',
      servers,
      outOfSync: gr.optBool('out_of_sync'),
      promotingState: gr.optObj('promoting')?.optStr('state') ?? '',
    };
  });

  const proxy = r.obj('proxy');
  const proxyStats = proxy.optObj('stats');
  const proxies: TopomProxy[] = proxy.optArr('models').map((p, pi) => {
    const pr = JsonReader.at(doc, `proxy.models[${pi}]`, p);
    const token = pr.str('token');
    const st = proxyStats?.optObj(token);
    const statsDoc = st?.optObj('stats');
    const stats = statsDoc ? readCodisStats(statsDoc) : undefined;
    const target = targetState(st, stats !== undefined);
    const state: TopomProxy['state'] = target !== 'ok' ? target : stats!.closed ? 'closed' : stats!.online ? 'online' : 'offline';
    const startTime = stripMonotonic(pr.optStr('start_time'));
    return {
      id: pr.optNum('id', 0),
      token,
      adminAddr: pr.optStr('admin_addr'),
      proxyAddr: pr.optStr('proxy_addr'),
      productName: pr.optStr('product_name'),
      startTime,
      startTimeMs: parseGoTime(startTime),
      datacenter: pr.optStr('datacenter'),
      state,
      error: st ? remoteError(st) : '',
      stats,
      unixtime: st?.optNum('unixtime', 0) ?? 0,
    };
  });

  const ha = r.obj('sentinels');
  const haModel = ha.optObj('model');
  const haStats = ha.optObj('stats');
  const servers = haModel?.strArr('servers') ?? [];
  const sentinelStats: TopomSentinel[] = servers.map((addr) => {
    const st = haStats?.optObj(addr);
    const monitored = st ? readMonitoredMap(doc, st.keyPath('sentinel'), st.value.sentinel) : [];
    return {
      addr,
      state: targetState(st, st?.has('stats') ?? false),
      error: st ? remoteError(st) : '',
      monitored,
      unixtime: st?.optNum('unixtime', 0) ?? 0,
    };
  });

  const slots = r.optArr('slots').map((s, i): TopomSlotMapping => {
    const sr = JsonReader.at(doc, `slots[${i}]`, s);
    const action = sr.optObj('action');
    return {
      id: sr.num('id'),
      groupId: sr.optNum('group_id', 0),
      actionState: action?.optStr('state') ?? '',
      actionIndex: action?.optNum('index', 0) ?? 0,
      targetId: action?.optNum('target_id', 0) ?? 0,
    };
  });

  const sa = r.optObj('slot_action');
  return {
    closed: r.optBool('closed'),
    slots,
    groups,
    proxies,
    sentinels: { servers, outOfSync: haModel?.optBool('out_of_sync') ?? false, masters: ha.strMap('masters'), stats: sentinelStats },
    slotAction: {
      interval: sa?.optNum('interval', 0) ?? 0,
      disabled: sa?.optBool('disabled') ?? false,
      progress: sa?.optObj('progress')?.optStr('status') ?? '',
      executor: sa?.optNum('executor', 0) ?? 0,
    },
  };
}

/** GET /topom/stats (or /api/topom/stats/<xauth>). */
export function parseTopomStats(input: unknown): TopomStats {
  return readTopomStats(asReader('topom stats', input));
}

function readTopomModel(r: JsonReader): TopomModel {
  const startTime = stripMonotonic(r.optStr('start_time'));
  return {
    token: r.str('token'),
    startTime,
    startTimeMs: parseGoTime(startTime),
    adminAddr: r.optStr('admin_addr'),
    productName: r.str('product_name'),
    pid: r.optNum('pid', 0),
    pwd: r.optStr('pwd'),
    sys: r.optStr('sys'),
  };
}

/** GET /topom/model or /api/topom/model. */
export function parseTopomModel(input: unknown): TopomModel {
  return readTopomModel(asReader('topom model', input));
}

export interface TopomOverview {
  version: string;
  compile: string;
  /** A few config keys (coordinator_auth and the rest are not kept). */
  config: { productName: string; coordinatorName: string; sentinelQuorum: number | undefined; sentinelDownAfter: string } | undefined;
  model: TopomModel | undefined;
  stats: TopomStats | undefined;
}

/** GET /topom. */
export function parseTopomOverview(input: unknown): TopomOverview {
  const r = asReader('topom overview', input);
  const c = r.optObj('config');
  const m = r.optObj('model');
  const s = r.optObj('stats');
  return {
    version: r.optStr('version'),
    compile: r.optStr('compile'),
    config: c && {
      productName: c.optStr('product_name'),
      coordinatorName: c.optStr('coordinator_name'),
      sentinelQuorum: c.has('sentinel_quorum') ? c.num('sentinel_quorum') : undefined,
      sentinelDownAfter: c.optStr('sentinel_down_after'),
    },
    model: m && readTopomModel(m),
    stats: s && readTopomStats(s),
  };
}

export interface TopomGroupInfo {
  role: string;
  /** The master this server replicates from ('' on a master). */
  masterAddr: string;
  masterLinkStatus: string;
  maxmemory: number | undefined;
  info: Record<string, string>;
}

/** GET /api/topom/group/info/<addr>: a server's INFO as a flat string map plus master_addr and maxmemory. */
export function parseTopomGroupInfo(input: unknown): TopomGroupInfo {
  const r = asReader('topom group info', input);
  const info: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.value)) {
    if (typeof v === 'string') info[k] = v;
    else r.fail(k, 'expected a string (codis keeps INFO values as strings)');
  }
  const mm = info.maxmemory !== undefined && info.maxmemory !== '' ? Number(info.maxmemory) : undefined;
  return {
    role: info.role ?? '',
    masterAddr: info.master_addr ?? '',
    masterLinkStatus: info.master_link_status ?? '',
    maxmemory: mm !== undefined && Number.isFinite(mm) ? mm : undefined,
    info,
  };
}

export interface SentinelInfoSummary {
  tilt: boolean;
  /** From the masterN lines (name=…,status=…,address=…,slaves=…,sentinels=…), by name. */
  masters: Array<{ name: string; status: string; address: string; slaves: number; sentinels: number }>;
  info: Record<string, string>;
}

/** GET /api/topom/sentinels/info/<addr>: a sentinel's INFO as a flat string map. */
export function parseTopomSentinelInfo(input: unknown): SentinelInfoSummary {
  const r = asReader('topom sentinel info', input);
  const info: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.value)) if (typeof v === 'string') info[k] = v;
  const masters = Object.keys(info)
    .filter((k) => /^master\d+$/.test(k))
    .map((k) => {
      const kv = Object.fromEntries(
        info[k]!.split(',').map((p) => {
          const i = p.indexOf('=');
          return [p.slice(0, i), p.slice(i + 1)];
        }),
      );
      return {
        name: kv.name ?? '',
        status: kv.status ?? '',
        address: kv.address ?? '',
        slaves: Number(kv.slaves ?? 0),
        sentinels: Number(kv.sentinels ?? 0),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return { tilt: info.sentinel_tilt === '1', masters, info };
}

/** GET /api/topom/sentinels/info/<addr>/monitored: map[name]{master, slaves}. */
export function parseTopomSentinelMonitored(input: unknown): TopomMonitoredMaster[] {
  const doc = 'topom sentinel monitored';
  return readMonitoredMap(doc, '', typeof input === 'string' ? parseJson(input, doc) : input);
}

export interface SentinelMajority {
  group: number;
  /** The master a majority of the configured sentinels report; undefined without a majority. */
  master: string | undefined;
  votes: number;
  /** Configured sentinels (the majority is over these, answering or not). */
  sentinels: number;
  /** Sentinel address → the master it reports for this group. */
  reports: Record<string, string>;
}

/**
 * Per group, the master that a majority (1 + n/2) of the dashboard's configured sentinels
 * report, the way codis's own proxies decide; sentinels that did not answer count against.
 */
export function topomSentinelMajority(stats: TopomStats): SentinelMajority[] {
  const n = stats.sentinels.servers.length;
  const need = Math.floor(n / 2) + 1;
  const byGroup = new Map<number, Record<string, string>>();
  for (const s of stats.sentinels.stats) {
    if (s.state !== 'ok') continue;
    for (const m of s.monitored) {
      if (m.group === undefined || !m.master) continue;
      const reports = byGroup.get(m.group) ?? {};
      reports[s.addr] = m.master;
      byGroup.set(m.group, reports);
    }
  }
  return [...byGroup.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([group, reports]) => {
      const counts = new Map<string, number>();
      for (const m of Object.values(reports)) counts.set(m, (counts.get(m) ?? 0) + 1);
      const [best, votes] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
      return { group, master: n > 0 && votes >= need ? best : undefined, votes, sentinels: n, reports };
    });
}
