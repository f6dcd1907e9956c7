// The Grafana dashboards, generated from this file: `node dist/grafana/generate.js` writes
// grafana/dashboards/*.json (test/grafana-dashboards.test.ts checks they are in step and runs
// every query against a real InfluxDB fed by the real stack).
//
// Every measurement, field and tag a query names goes through `m()` / `.f()` / `.t()`, which
// look it up in proto/schema.ts and throw at generation time when it does not exist.
import { MEASUREMENTS, type MeasurementDef } from '../proto/schema.js';

export const DATASOURCE = { type: 'influxdb', uid: 'redis-fleet-influxdb' } as const;

/** A measurement of proto/schema.ts with checked field and tag references. */
class Meas {
  readonly def: MeasurementDef;
  constructor(name: string) {
    const def = MEASUREMENTS[name];
    if (!def) throw new Error(`grafana: unknown measurement ${name}`);
    this.def = def;
  }
  toString(): string { return `"${this.def.name}"`; }
  /** A field, quoted. */
  f(name: string): string {
    if (!this.def.fields[name]) throw new Error(`grafana: ${this.def.name} has no field ${name}`);
    return `"${name}"`;
  }
  /** A tag, quoted. */
  t(name: string): string {
    if (!this.def.tags.includes(name)) throw new Error(`grafana: ${this.def.name} has no tag ${name}`);
    return `"${name}"`;
  }
  /** `"tag" =~ /^$var$/` for each tag = variable pair. */
  where(vars: Record<string, string>): string {
    return Object.entries(vars).map(([tag, v]) => `${this.t(tag)} =~ /^$${v}$/`).join(' AND ');
  }
}
const m = (name: string): Meas => new Meas(name);

const host = m('host');
const redis = m('redis');
const replica = m('redis_replica');
const replOffset = m('redis_repl_offset');
const keyspace = m('redis_keyspace');
const cmdstat = m('redis_cmdstat');
const latency = m('redis_latency');
const slowlog = m('redis_slowlog');
const event = m('event');
const guard = m('guard');
const codis = m('codis_proxy');
const codisCmd = m('codis_proxy_cmd');
const codisGroup = m('codis_proxy_group');
const codisDash = m('codis_dashboard');
const codisDashGroup = m('codis_dashboard_group');
const twem = m('twemproxy');
const twemPool = m('twemproxy_pool');
const twemServer = m('twemproxy_server');

const T = '$timeFilter';
const BY_TIME = 'time($__interval)';

export interface Target { query: string; alias?: string; format?: 'time_series' | 'table' }
interface PanelSpec {
  title: string;
  type: 'timeseries' | 'stat' | 'table';
  description?: string;
  unit?: string;
  w?: number;
  h?: number;
  targets: Target[];
  /** Stat colour thresholds: [value, colour][] after a green base. */
  thresholds?: [number, string][];
}

const ts = (title: string, unit: string, targets: Target[], description?: string): PanelSpec => ({ title, type: 'timeseries', unit, targets, description });
const stat = (title: string, targets: Target[], o: Partial<PanelSpec> = {}): PanelSpec => ({ title, type: 'stat', w: 4, h: 4, targets, ...o });
const table = (title: string, targets: Target[], o: Partial<PanelSpec> = {}): PanelSpec => ({ title, type: 'table', w: 24, h: 8, targets: targets.map((t) => ({ format: 'table', ...t })), ...o });

interface VarSpec { name: string; label: string; query: string; multi?: boolean }

/** SHOW TAG VALUES for a variable, optionally narrowed by the variables before it. */
function tagValues(name: string, meas: Meas, tag: string, narrow: Record<string, string> = {}): VarSpec {
  const where = Object.keys(narrow).length ? ` WHERE ${meas.where(narrow)}` : '';
  return { name, label: tag, query: `SHOW TAG VALUES FROM ${meas} WITH KEY = ${meas.t(tag)}${where}`, multi: true };
}

interface DashboardSpec { uid: string; title: string; description: string; tags: string[]; vars: VarSpec[]; panels: PanelSpec[] }

// --- fleet overview -----------------------------------------------------------------------------
const FLEET_HOST = { idc: 'idc', host: 'host' };
const FLEET_REDIS = { idc: 'idc', cluster: 'cluster', host: 'host' };
const PROBLEM_KINDS = ['instance.down', 'host.down', 'proxy.down', 'proxy.server_ejected', 'guard.fenced', 'guard.fence_failed',
  'guard.budget_violation', 'guard.zk_unreachable', 'fork.memory_floor', 'fork.admission_blocked', 'sentinel.+odown', 'sentinel.+switch-master'];
const problemRegex = `/^(${PROBLEM_KINDS.map((k) => k.replace(/[.+]/g, (c) => `\\${c}`)).join('|')})$/`;

const fleet: DashboardSpec = {
  uid: 'redis-fleet-overview',
  title: 'redis-fleet / Fleet overview',
  description: 'Hosts, instances, memory headroom, ops/s, problem events and fenced instances across the fleet.',
  tags: ['redis-fleet'],
  vars: [
    tagValues('idc', host, 'idc'),
    tagValues('cluster', redis, 'cluster', { idc: 'idc' }),
    tagValues('host', host, 'host', { idc: 'idc' }),
  ],
  panels: [
    stat('Hosts reporting', [{ query: `SELECT count("last") FROM (SELECT last(${host.f('cpu_cores')}) FROM ${host} WHERE ${host.where(FLEET_HOST)} AND ${T} GROUP BY ${host.t('host')})` }]),
    stat('Instances', [{ query: `SELECT count("last") FROM (SELECT last(${redis.f('up')}) FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${redis.t('instance')})` }]),
    stat('Instances up', [{ query: `SELECT sum("last") FROM (SELECT last(${redis.f('up')}) FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${redis.t('instance')})` }]),
    stat('Fenced instances', [{ query: `SELECT sum("last") FROM (SELECT last(${guard.f('fenced')}) FROM ${guard} WHERE ${guard.where(FLEET_REDIS)} AND ${T} GROUP BY ${guard.t('instance')})` }],
      { thresholds: [[1, 'red']], description: 'sentinel-guard: masters fenced now (guard measurement)' }),
    stat('Problem events', [{ query: `SELECT count(${event.f('message')}) FROM ${event} WHERE ${event.t('kind')} =~ ${problemRegex} AND ${event.where(FLEET_HOST)} AND ${T}` }],
      { thresholds: [[1, 'orange']], description: 'Alert state lives in the collector (GET /api/v1/alerts, the fleet console); InfluxDB holds the events that raise the built-in alerts: down, ejected, fenced, ...' }),
    stat('Max memory used', [{ query: `SELECT max("last") FROM (SELECT last(${redis.f('headroom_used_ratio')}) FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${redis.t('instance')})` }],
      { unit: 'percentunit', thresholds: [[0.8, 'orange'], [0.9, 'red']] }),
    ts('Ops/s by cluster', 'ops', [{ query: `SELECT sum("ops") FROM (SELECT mean(${redis.f('ops_per_sec')}) AS "ops" FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${BY_TIME}, ${redis.t('instance')}, ${redis.t('cluster')}) WHERE ${T} GROUP BY ${BY_TIME}, "cluster" fill(none)`, alias: '$tag_cluster' }]),
    ts('Memory used / limit (top instances)', 'percentunit', [{ query: `SELECT max(${redis.f('headroom_used_ratio')}) FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${BY_TIME}, ${redis.t('instance')} fill(none)`, alias: '$tag_instance' }],
      'headroom_used_ratio: used_memory over maxmemory (or host memory when maxmemory is 0)'),
    ts('Host memory reserved by maxmemory', 'percentunit', [{ query: `SELECT max(${host.f('maxmemory_reserved_bytes')}) / max(${host.f('mem_total_bytes')}) FROM ${host} WHERE ${host.where(FLEET_HOST)} AND ${T} GROUP BY ${BY_TIME}, ${host.t('host')} fill(none)`, alias: '$tag_host' }]),
    ts('Host memory available', 'bytes', [{ query: `SELECT min(${host.f('mem_available_bytes')}) FROM ${host} WHERE ${host.where(FLEET_HOST)} AND ${T} GROUP BY ${BY_TIME}, ${host.t('host')} fill(none)`, alias: '$tag_host' }]),
    table('Instances now', [{ query: `SELECT last(${redis.f('up')}) AS "up", last(${redis.f('used_memory')}) AS "used_memory", last(${redis.f('headroom_used_ratio')}) AS "used_ratio", last(${redis.f('ops_per_sec')}) AS "ops_per_sec", last(${redis.f('connected_clients')}) AS "clients" FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${redis.t('host')}, ${redis.t('instance')}, ${redis.t('role')}, ${redis.t('cluster')}, ${redis.t('group')}` }]),
    table('Fenced instances (guard)', [{ query: `SELECT last(${guard.f('fenced')}) AS "fenced", last(${guard.f('phase')}) AS "phase", last(${guard.f('fence_reason')}) AS "reason", last(${guard.f('waiting_for')}) AS "waiting_for" FROM ${guard} WHERE ${guard.where(FLEET_REDIS)} AND ${T} GROUP BY ${guard.t('host')}, ${guard.t('instance')}` }]),
    table('Recent events', [{ query: `SELECT ${event.f('message')}, ${event.t('kind')}, ${event.t('instance')}, ${event.t('host')} FROM ${event} WHERE ${event.where(FLEET_HOST)} AND ${T} ORDER BY time DESC LIMIT 200` }]),
  ],
};

// --- Redis instance -----------------------------------------------------------------------------
const INST = { idc: 'idc', cluster: 'cluster', host: 'host', instance: 'instance' };
const BY_INST = `GROUP BY ${BY_TIME}, "instance" fill(none)`;
const inst = (meas: Meas, sel: string, extra = ''): string => `SELECT ${sel} FROM ${meas} WHERE ${meas.where(INST)} AND ${T}${extra} ${BY_INST}`;

const instance: DashboardSpec = {
  uid: 'redis-fleet-instance',
  title: 'redis-fleet / Redis instance',
  description: 'One or more Redis instances: ops, clients, memory, hit ratio, evictions, replication, latency, slowlog, forks and persistence.',
  tags: ['redis-fleet'],
  vars: [
    tagValues('idc', redis, 'idc'),
    tagValues('cluster', redis, 'cluster', { idc: 'idc' }),
    tagValues('host', redis, 'host', { idc: 'idc', cluster: 'cluster' }),
    tagValues('instance', redis, 'instance', { idc: 'idc', cluster: 'cluster', host: 'host' }),
  ],
  panels: [
    ts('Ops/s', 'ops', [{ query: inst(redis, `mean(${redis.f('ops_per_sec')})`), alias: '$tag_instance' }]),
    ts('Commands/s by command', 'ops', [{ query: `SELECT non_negative_derivative(max(${cmdstat.f('calls')}), 1s) FROM ${cmdstat} WHERE ${cmdstat.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${cmdstat.t('instance')}, ${cmdstat.t('command')} fill(none)`, alias: '$tag_instance $tag_command' }]),
    ts('Clients', 'short', [
      { query: inst(redis, `mean(${redis.f('connected_clients')})`), alias: '$tag_instance connected' },
      { query: inst(redis, `mean(${redis.f('blocked_clients')})`), alias: '$tag_instance blocked' },
    ]),
    ts('Memory', 'bytes', [
      { query: inst(redis, `mean(${redis.f('used_memory')})`), alias: '$tag_instance used' },
      { query: inst(redis, `mean(${redis.f('used_memory_rss')})`), alias: '$tag_instance rss' },
      { query: inst(redis, `max(${redis.f('headroom_limit_bytes')})`), alias: '$tag_instance limit' },
    ]),
    ts('Keyspace hit ratio', 'percentunit', [{ query: inst(redis, `mean(${redis.f('keyspace_hit_ratio')})`, ` AND ${redis.f('keyspace_hit_ratio')} >= 0`), alias: '$tag_instance' }],
      'hits / (hits + misses) per interval; intervals without lookups are left out'),
    ts('Evictions and expirations /s', 'short', [
      { query: inst(redis, `mean(${redis.f('evicted_keys_per_sec')})`), alias: '$tag_instance evicted' },
      { query: inst(redis, `mean(${redis.f('expired_keys_per_sec')})`), alias: '$tag_instance expired' },
    ]),
    ts('Replication: replica lag behind the master', 'bytes', [{ query: `SELECT max(${replica.f('lag_bytes')}) FROM ${replica} WHERE ${replica.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${replica.t('instance')}, ${replica.t('replica')} fill(none)`, alias: '$tag_instance → $tag_replica' }],
      'master_repl_offset − the replica\'s acknowledged offset, from the master (redis_replica)'),
    ts('Replication offsets of the cluster (master vs replicas)', 'bytes', [{ query: `SELECT max(${redis.f('master_repl_offset')}) FROM ${redis} WHERE ${redis.where({ idc: 'idc', cluster: 'cluster' })} AND ${T} GROUP BY ${BY_TIME}, ${redis.t('instance')}, ${redis.t('role')} fill(none)`, alias: '$tag_role $tag_instance' }]),
    ts('Replication: master − replica offset per group', 'bytes', [{ query: `SELECT max(${replOffset.f('diff_bytes')}) FROM ${replOffset} WHERE ${replOffset.where({ cluster: 'cluster' })} AND ${T} GROUP BY ${BY_TIME}, ${replOffset.t('group')}, ${replOffset.t('replica')} fill(none)`, alias: '$tag_group $tag_replica' }],
      'the master\'s master_repl_offset − the replica\'s slave_repl_offset, paired by master_replid in the collector (redis_repl_offset): the curve to watch during a resync or after a failover'),
    ts('Latency percentiles by command', 'µs', [
      { query: `SELECT max(${latency.f('p50')}) FROM ${latency} WHERE ${latency.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${latency.t('instance')}, ${latency.t('command')} fill(none)`, alias: '$tag_command p50' },
      { query: `SELECT max(${latency.f('p99')}) FROM ${latency} WHERE ${latency.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${latency.t('instance')}, ${latency.t('command')} fill(none)`, alias: '$tag_command p99' },
      { query: `SELECT max(${latency.f('p99_9')}) FROM ${latency} WHERE ${latency.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${latency.t('instance')}, ${latency.t('command')} fill(none)`, alias: '$tag_command p99.9' },
    ], 'INFO latencystats (Redis 7+)'),
    ts('Forks', 'µs', [
      { query: inst(redis, `max(${redis.f('latest_fork_usec')})`), alias: '$tag_instance latest fork' },
    ]),
    ts('Persistence in progress', 'short', [
      { query: inst(redis, `max(${redis.f('rdb_bgsave_in_progress')})`), alias: '$tag_instance rdb' },
      { query: inst(redis, `max(${redis.f('aof_rewrite_in_progress')})`), alias: '$tag_instance aof' },
      { query: inst(redis, `max(${redis.f('rdb_changes_since_last_save')})`), alias: '$tag_instance changes since save' },
    ]),
    ts('Last fork copy-on-write', 'bytes', [
      { query: inst(redis, `max(${redis.f('rdb_last_cow_size')})`), alias: '$tag_instance rdb' },
      { query: inst(redis, `max(${redis.f('aof_last_cow_size')})`), alias: '$tag_instance aof' },
    ]),
    ts('Keys', 'short', [{ query: `SELECT max(${keyspace.f('keys')}) FROM ${keyspace} WHERE ${keyspace.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${keyspace.t('instance')}, ${keyspace.t('db')} fill(none)`, alias: '$tag_instance $tag_db' }]),
    table('Persistence status', [{ query: `SELECT last(${redis.f('rdb_last_bgsave_status')}) AS "rdb_status", last(${redis.f('aof_last_bgrewrite_status')}) AS "aof_status", last(${redis.f('total_forks')}) AS "forks", last(${redis.f('rdb_saves')}) AS "rdb_saves" FROM ${redis} WHERE ${redis.where(INST)} AND ${T} GROUP BY ${redis.t('instance')}` }], { h: 5 }),
    table('Slowlog', [{ query: `SELECT ${slowlog.f('duration_usec')}, ${slowlog.f('command')}, ${slowlog.f('client')}, ${slowlog.t('instance')} FROM ${slowlog} WHERE ${slowlog.where(INST)} AND ${T} ORDER BY time DESC LIMIT 100` }]),
  ],
};

// --- host ---------------------------------------------------------------------------------------
const HOST = { idc: 'idc', host: 'host' };
const BY_HOST = `GROUP BY ${BY_TIME}, "host" fill(none)`;
const hostQ = (sel: string): string => `SELECT ${sel} FROM ${host} WHERE ${host.where(HOST)} AND ${T} ${BY_HOST}`;

const hostDash: DashboardSpec = {
  uid: 'redis-fleet-host',
  title: 'redis-fleet / Host',
  description: 'One or more hosts: CPU, memory available vs reserved by maxmemory, forks in progress, disk, network, the agent.',
  tags: ['redis-fleet'],
  vars: [
    tagValues('idc', host, 'idc'),
    tagValues('host', host, 'host', { idc: 'idc' }),
  ],
  panels: [
    ts('CPU busy', 'percent', [{ query: hostQ(`mean(${host.f('cpu_percent')})`), alias: '$tag_host' }]),
    ts('Load', 'short', [{ query: hostQ(`mean(${host.f('load1')})`), alias: '$tag_host load1' }]),
    ts('Memory available vs reserved', 'bytes', [
      { query: hostQ(`mean(${host.f('mem_available_bytes')})`), alias: '$tag_host available' },
      { query: hostQ(`max(${host.f('maxmemory_reserved_bytes')})`), alias: '$tag_host reserved by maxmemory' },
      { query: hostQ(`max(${host.f('mem_total_bytes')})`), alias: '$tag_host total' },
    ]),
    ts('Forks in progress', 'short', [{ query: `SELECT sum("forks") FROM (SELECT max(${redis.f('rdb_bgsave_in_progress')}) + max(${redis.f('aof_rewrite_in_progress')}) AS "forks" FROM ${redis} WHERE ${redis.where(HOST)} AND ${T} GROUP BY ${BY_TIME}, ${redis.t('instance')}, ${redis.t('host')}) WHERE ${T} ${BY_HOST}`, alias: '$tag_host' }],
      'RDB saves and AOF rewrites running on the host\'s instances'),
    ts('Instances and slots', 'short', [
      { query: hostQ(`max(${host.f('running_instances')})`), alias: '$tag_host running' },
      { query: hostQ(`max(${host.f('instance_slots')})`), alias: '$tag_host slots' },
      { query: hostQ(`max(${host.f('idle_instances')})`), alias: '$tag_host idle' },
    ]),
    ts('Disk free', 'bytes', [{ query: hostQ(`min(${host.f('disk_free_bytes')})`), alias: '$tag_host' }]),
    ts('Disk IO', 'Bps', [
      { query: hostQ(`mean(${host.f('disk_read_bytes_per_sec')})`), alias: '$tag_host read' },
      { query: hostQ(`mean(${host.f('disk_write_bytes_per_sec')})`), alias: '$tag_host write' },
    ]),
    ts('Network', 'Bps', [
      { query: hostQ(`mean(${host.f('net_rx_bytes_per_sec')})`), alias: '$tag_host rx' },
      { query: hostQ(`mean(${host.f('net_tx_bytes_per_sec')})`), alias: '$tag_host tx' },
    ]),
    ts('Agent', 'short', [
      { query: hostQ(`max(${host.f('agent_buffered_reports')})`), alias: '$tag_host buffered reports' },
      { query: hostQ(`mean(${host.f('agent_tick_cpu_ms')})`), alias: '$tag_host tick CPU ms' },
    ]),
  ],
};

// --- proxy --------------------------------------------------------------------------------------
const PROXY = { idc: 'idc', host: 'host' };
const BY_PROXY = `GROUP BY ${BY_TIME}, "proxy", "name" fill(none)`;
const proxyQ = (meas: Meas, sel: string): string => `SELECT ${sel} FROM ${meas} WHERE ${meas.where(PROXY)} AND ${T} ${BY_PROXY}`;

const proxyDash: DashboardSpec = {
  uid: 'redis-fleet-proxy',
  title: 'redis-fleet / Proxy',
  description: 'codis-proxy and twemproxy (nutcracker): qps, fails, sessions, per-command latency, ejected backends.',
  tags: ['redis-fleet'],
  vars: [
    tagValues('idc', host, 'idc'),
    { name: 'host', label: 'host', query: `SHOW TAG VALUES FROM ${codis}, ${twem} WITH KEY = ${codis.t('host')} WHERE ${twem.where({ idc: 'idc' })}`, multi: true },
  ],
  panels: [
    ts('codis-proxy ops/s', 'ops', [{ query: proxyQ(codis, `mean(${codis.f('ops_per_sec')})`), alias: '$tag_name $tag_proxy' }]),
    ts('codis-proxy fails /s', 'short', [
      { query: proxyQ(codis, `mean(${codis.f('fails_per_sec')})`), alias: '$tag_name fails' },
      { query: proxyQ(codis, `mean(${codis.f('redis_errors_per_sec')})`), alias: '$tag_name redis errors' },
    ]),
    ts('codis-proxy sessions', 'short', [
      { query: proxyQ(codis, `max(${codis.f('sessions_alive')})`), alias: '$tag_name alive' },
      { query: proxyQ(codis, `max(${codis.f('proxy_max_clients')})`), alias: '$tag_name max' },
    ]),
    ts('codis-proxy per-command latency', 'µs', [{ query: `SELECT max(${codisCmd.f('usec_per_call')}) FROM ${codisCmd} WHERE ${codisCmd.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisCmd.t('proxy')}, ${codisCmd.t('command')} fill(none)`, alias: '$tag_command' }],
      'average µs per call (cumulative); interval_usec_per_call is the same between two polls'),
    ts('codis-proxy calls/s by command', 'ops', [{ query: `SELECT non_negative_derivative(max(${codisCmd.f('calls')}), 1s) FROM ${codisCmd} WHERE ${codisCmd.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisCmd.t('proxy')}, ${codisCmd.t('command')} fill(none)`, alias: '$tag_command' }]),
    table('codis-proxy groups (slot table vs Sentinels)', [{ query: `SELECT last(${codisGroup.f('master')}) AS "master", last(${codisGroup.f('sentinel_master')}) AS "sentinel_master", last(${codisGroup.f('sentinel_agrees')}) AS "agrees", last(${codisGroup.f('slots')}) AS "slots" FROM ${codisGroup} WHERE ${codisGroup.where(PROXY)} AND ${T} GROUP BY ${codisGroup.t('proxy')}, ${codisGroup.t('group')}` }]),
    // codis-dashboard (agent dashboards[]): the product as its dashboard sees it.
    ts('codis-dashboard migration queue', 'short', ['pending', 'preparing', 'migrating'].map((st) => ({
      query: `SELECT max(${codisDash.f(`migration_${st}`)}) FROM ${codisDash} WHERE ${codisDash.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisDash.t('product')} fill(none)`, alias: `$tag_product ${st}`,
    })), 'slots per migration state; migration_stalled_seconds says how long the queue has not moved (CodisMigrationStuck)'),
    ts('codis-dashboard groups out of sync, servers / proxies unreachable', 'short', [
      { query: `SELECT max(${codisDash.f('groups_out_of_sync')}) FROM ${codisDash} WHERE ${codisDash.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisDash.t('product')} fill(none)`, alias: '$tag_product groups out of sync' },
      { query: `SELECT max(${codisDash.f('servers_unreachable')}) FROM ${codisDash} WHERE ${codisDash.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisDash.t('product')} fill(none)`, alias: '$tag_product servers unreachable' },
      { query: `SELECT max(${codisDash.f('proxies_unreachable')}) + max(${codisDash.f('proxies_offline')}) FROM ${codisDash} WHERE ${codisDash.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisDash.t('product')} fill(none)`, alias: '$tag_product proxies not online' },
    ]),
    table('codis-dashboard groups', [{ query: `SELECT last(${codisDashGroup.f('master')}) AS "master", last(${codisDashGroup.f('servers')}) AS "servers", last(${codisDashGroup.f('servers_unreachable')}) AS "unreachable", last(${codisDashGroup.f('slots')}) AS "slots", last(${codisDashGroup.f('out_of_sync')}) AS "out_of_sync" FROM ${codisDashGroup} WHERE ${codisDashGroup.where(PROXY)} AND ${T} GROUP BY ${codisDashGroup.t('product')}, ${codisDashGroup.t('group')}` }]),
    ts('twemproxy requests/s', 'ops', [{ query: proxyQ(twem, `mean(${twem.f('requests_per_sec')})`), alias: '$tag_name $tag_proxy' }]),
    ts('twemproxy errors /s', 'short', [{ query: proxyQ(twem, `mean(${twem.f('errors_per_sec')})`), alias: '$tag_name' }]),
    ts('twemproxy client connections', 'short', [{ query: proxyQ(twem, `max(${twem.f('curr_connections')})`), alias: '$tag_name' }]),
    ts('twemproxy requests/s by pool', 'ops', [{ query: `SELECT mean(${twemPool.f('requests_per_sec')}) FROM ${twemPool} WHERE ${twemPool.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${twemPool.t('proxy')}, ${twemPool.t('pool')} fill(none)`, alias: '$tag_pool' }]),
    ts('twemproxy servers ejected', 'short', [{ query: proxyQ(twem, `max(${twem.f('servers_ejected')})`), alias: '$tag_name' }]),
    table('twemproxy backends', [{ query: `SELECT last(${twemServer.f('ejected')}) AS "ejected", last(${twemServer.f('ejected_at_ms')}) AS "ejected_at_ms", last(${twemServer.f('server_connections')}) AS "connections", last(${twemServer.f('requests_per_sec')}) AS "requests_per_sec" FROM ${twemServer} WHERE ${twemServer.where(PROXY)} AND ${T} GROUP BY ${twemServer.t('proxy')}, ${twemServer.t('pool')}, ${twemServer.t('server')}` }]),
  ],
};

export const DASHBOARDS: DashboardSpec[] = [fleet, instance, hostDash, proxyDash];

/** Grafana dashboard JSON (schemaVersion 39) of one spec. */
export function renderDashboard(d: DashboardSpec): Record<string, unknown> {
  let x = 0;
  let y = 0;
  let rowH = 0;
  let id = 0;
  const panels = d.panels.map((p) => {
    const w = p.w ?? 12;
    const h = p.h ?? 8;
    if (x + w > 24) { x = 0; y += rowH; rowH = 0; }
    const gridPos = { h, w, x, y };
    x += w;
    rowH = Math.max(rowH, h);
    const steps: { color: string; value: number | null }[] = [{ color: 'green', value: null }, ...(p.thresholds ?? []).map(([value, color]) => ({ color, value }))];
    return {
      id: ++id,
      type: p.type,
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      datasource: DATASOURCE,
      gridPos,
      fieldConfig: { defaults: { ...(p.unit ? { unit: p.unit } : {}), thresholds: { mode: 'absolute', steps } }, overrides: [] },
      options: p.type === 'stat'
        ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'none', textMode: 'auto' }
        : p.type === 'table' ? { showHeader: true } : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
      targets: p.targets.map((t, i) => ({
        refId: String.fromCharCode(65 + i),
        datasource: DATASOURCE,
        rawQuery: true,
        query: t.query,
        resultFormat: t.format ?? 'time_series',
        ...(t.alias ? { alias: t.alias } : {}),
      })),
    };
  });
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: d.tags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    annotations: { list: [] },
    links: d.uid === 'redis-fleet-overview' ? [] : [{ title: 'Fleet overview', type: 'dashboards', tags: ['redis-fleet'], asDropdown: true, includeVars: true, keepTime: true }],
    templating: {
      list: d.vars.map((v) => ({
        name: v.name,
        label: v.label,
        type: 'query',
        datasource: DATASOURCE,
        query: v.query,
        definition: v.query,
        refresh: 2,
        includeAll: true,
        // All is a match-anything regex: no huge alternation on a big fleet, and hosts without the label match too.
        allValue: '.*',
        multi: v.multi ?? true,
        sort: 1,
        current: { selected: true, text: ['All'], value: ['$__all'] },
        options: [],
      })),
    },
    panels,
  };
}

/** file name → JSON text, as written to grafana/dashboards/. */
export function renderAll(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of DASHBOARDS) out[`${d.uid}.json`] = `${JSON.stringify(renderDashboard(d), null, 2)}\n`;
  return out;
}
