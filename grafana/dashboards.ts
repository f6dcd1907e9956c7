// The Grafana dashboards, generated from this file: `node dist/grafana/generate.js` writes
// grafana/dashboards/*.json (InfluxQL) and grafana/dashboards-prometheus/*.json (PromQL/MetricsQL
// for VictoriaMetrics); test/grafana-dashboards.test.ts and test/grafana-prometheus.test.ts check
// they are in step and run every query against a real engine fed by the real stack.
//
// Every measurement, field and tag a query names goes through `m()` / `.f()` / `.t()` (InfluxQL)
// or `pm()` / `.m()` (PromQL), which look it up in proto/schema.ts and throw at generation time
// when it does not exist. The output is typed against @grafana/schema.
import { DashboardCursorSync, ThresholdsMode, VariableHide, VariableRefresh, VariableSort } from '@grafana/schema';
import type { AnnotationQuery, Dashboard, DashboardLink, DataSourceRef, Panel, VariableModel } from '@grafana/schema';
import { MEASUREMENTS, type MeasurementDef } from '../proto/schema.js';

/** A measurement of proto/schema.ts with checked field and tag references. */
class Meas {
  readonly def: MeasurementDef;
  constructor(name: string) {
    const def = MEASUREMENTS[name];
    if (!def) throw new Error(`grafana: unknown measurement ${name}`);
    this.def = def;
  }
  toString(): string {
    return `"${this.def.name}"`;
  }
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
    return Object.entries(vars)
      .map(([tag, v]) => `${this.t(tag)} =~ /^$${v}$/`)
      .join(' AND ');
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

export interface Target {
  query: string;
  alias?: string;
  format?: 'time_series' | 'table';
}
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

const ts = (title: string, unit: string, targets: Target[], description?: string): PanelSpec => ({
  title,
  type: 'timeseries',
  unit,
  targets,
  description,
});
const stat = (title: string, targets: Target[], o: Partial<PanelSpec> = {}): PanelSpec => ({
  title,
  type: 'stat',
  w: 4,
  h: 4,
  targets,
  ...o,
});
const table = (title: string, targets: Target[], o: Partial<PanelSpec> = {}): PanelSpec => ({
  title,
  type: 'table',
  w: 24,
  h: 8,
  targets: targets.map((t) => ({ format: 'table', ...t })),
  ...o,
});

interface VarSpec {
  name: string;
  label: string;
  query: string;
  multi?: boolean;
}

/** SHOW TAG VALUES for a variable, optionally narrowed by the variables before it. */
function tagValues(name: string, meas: Meas, tag: string, narrow: Record<string, string> = {}): VarSpec {
  const where = Object.keys(narrow).length ? ` WHERE ${meas.where(narrow)}` : '';
  return { name, label: tag, query: `SHOW TAG VALUES FROM ${meas} WITH KEY = ${meas.t(tag)}${where}`, multi: true };
}

interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  vars: VarSpec[];
  panels: PanelSpec[];
}

// --- fleet overview -----------------------------------------------------------------------------
const FLEET_HOST = { idc: 'idc', host: 'host' };
const FLEET_REDIS = { idc: 'idc', cluster: 'cluster', host: 'host' };
const PROBLEM_KINDS = [
  'instance.down',
  'host.down',
  'proxy.down',
  'proxy.server_ejected',
  'guard.fenced',
  'guard.fence_failed',
  'guard.budget_violation',
  'guard.zk_unreachable',
  'fork.memory_floor',
  'fork.admission_blocked',
  'sentinel.+odown',
  'sentinel.+switch-master',
];
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
    stat('Hosts reporting', [
      {
        query: `SELECT count("last") FROM (SELECT last(${host.f('cpu_cores')}) FROM ${host} WHERE ${host.where(FLEET_HOST)} AND ${T} GROUP BY ${host.t('host')})`,
      },
    ]),
    stat('Instances', [
      {
        query: `SELECT count("last") FROM (SELECT last(${redis.f('up')}) FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${redis.t('instance')})`,
      },
    ]),
    stat('Instances up', [
      {
        query: `SELECT sum("last") FROM (SELECT last(${redis.f('up')}) FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${redis.t('instance')})`,
      },
    ]),
    stat(
      'Fenced instances',
      [
        {
          query: `SELECT sum("last") FROM (SELECT last(${guard.f('fenced')}) FROM ${guard} WHERE ${guard.where(FLEET_REDIS)} AND ${T} GROUP BY ${guard.t('instance')})`,
        },
      ],
      { thresholds: [[1, 'red']], description: 'sentinel-guard: masters fenced now (guard measurement)' },
    ),
    stat(
      'Problem events',
      [
        {
          query: `SELECT count(${event.f('message')}) FROM ${event} WHERE ${event.t('kind')} =~ ${problemRegex} AND ${event.where(FLEET_HOST)} AND ${T}`,
        },
      ],
      {
        thresholds: [[1, 'orange']],
        description:
          'Alert state lives in the collector (GET /api/v1/alerts, the fleet console); InfluxDB holds the events that raise the built-in alerts: down, ejected, fenced, ...',
      },
    ),
    stat(
      'Max memory used',
      [
        {
          query: `SELECT max("last") FROM (SELECT last(${redis.f('headroom_used_ratio')}) FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${redis.t('instance')})`,
        },
      ],
      {
        unit: 'percentunit',
        thresholds: [
          [0.8, 'orange'],
          [0.9, 'red'],
        ],
      },
    ),
    ts('Ops/s by cluster', 'ops', [
      {
        query: `SELECT sum("ops") FROM (SELECT mean(${redis.f('ops_per_sec')}) AS "ops" FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${BY_TIME}, ${redis.t('instance')}, ${redis.t('cluster')}) WHERE ${T} GROUP BY ${BY_TIME}, "cluster" fill(none)`,
        alias: '$tag_cluster',
      },
    ]),
    ts(
      'Memory used / limit (top instances)',
      'percentunit',
      [
        {
          query: `SELECT max(${redis.f('headroom_used_ratio')}) FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${BY_TIME}, ${redis.t('instance')} fill(none)`,
          alias: '$tag_instance',
        },
      ],
      'headroom_used_ratio: used_memory over maxmemory (or host memory when maxmemory is 0)',
    ),
    ts('Host memory reserved by maxmemory', 'percentunit', [
      {
        query: `SELECT max(${host.f('maxmemory_reserved_bytes')}) / max(${host.f('mem_total_bytes')}) FROM ${host} WHERE ${host.where(FLEET_HOST)} AND ${T} GROUP BY ${BY_TIME}, ${host.t('host')} fill(none)`,
        alias: '$tag_host',
      },
    ]),
    ts('Host memory available', 'bytes', [
      {
        query: `SELECT min(${host.f('mem_available_bytes')}) FROM ${host} WHERE ${host.where(FLEET_HOST)} AND ${T} GROUP BY ${BY_TIME}, ${host.t('host')} fill(none)`,
        alias: '$tag_host',
      },
    ]),
    table('Instances now', [
      {
        query: `SELECT last(${redis.f('up')}) AS "up", last(${redis.f('used_memory')}) AS "used_memory", last(${redis.f('headroom_used_ratio')}) AS "used_ratio", last(${redis.f('ops_per_sec')}) AS "ops_per_sec", last(${redis.f('connected_clients')}) AS "clients" FROM ${redis} WHERE ${redis.where(FLEET_REDIS)} AND ${T} GROUP BY ${redis.t('host')}, ${redis.t('instance')}, ${redis.t('role')}, ${redis.t('cluster')}, ${redis.t('group')}`,
      },
    ]),
    table('Fenced instances (guard)', [
      {
        query: `SELECT last(${guard.f('fenced')}) AS "fenced", last(${guard.f('phase')}) AS "phase", last(${guard.f('fence_reason')}) AS "reason", last(${guard.f('waiting_for')}) AS "waiting_for" FROM ${guard} WHERE ${guard.where(FLEET_REDIS)} AND ${T} GROUP BY ${guard.t('host')}, ${guard.t('instance')}`,
      },
    ]),
    table('Recent events', [
      {
        query: `SELECT ${event.f('message')}, ${event.t('kind')}, ${event.t('instance')}, ${event.t('host')} FROM ${event} WHERE ${event.where(FLEET_HOST)} AND ${T} ORDER BY time DESC LIMIT 200`,
      },
    ]),
  ],
};

// --- Redis instance -----------------------------------------------------------------------------
const INST = { idc: 'idc', cluster: 'cluster', host: 'host', instance: 'instance' };
const BY_INST = `GROUP BY ${BY_TIME}, "instance" fill(none)`;
const inst = (meas: Meas, sel: string, extra = ''): string =>
  `SELECT ${sel} FROM ${meas} WHERE ${meas.where(INST)} AND ${T}${extra} ${BY_INST}`;

const instance: DashboardSpec = {
  uid: 'redis-fleet-instance',
  title: 'redis-fleet / Redis instance',
  description:
    'One or more Redis instances: ops, clients, memory, hit ratio, evictions, replication, latency, slowlog, forks and persistence.',
  tags: ['redis-fleet'],
  vars: [
    tagValues('idc', redis, 'idc'),
    tagValues('cluster', redis, 'cluster', { idc: 'idc' }),
    tagValues('host', redis, 'host', { idc: 'idc', cluster: 'cluster' }),
    tagValues('instance', redis, 'instance', { idc: 'idc', cluster: 'cluster', host: 'host' }),
  ],
  panels: [
    ts('Ops/s', 'ops', [{ query: inst(redis, `mean(${redis.f('ops_per_sec')})`), alias: '$tag_instance' }]),
    ts('Commands/s by command', 'ops', [
      {
        query: `SELECT non_negative_derivative(max(${cmdstat.f('calls')}), 1s) FROM ${cmdstat} WHERE ${cmdstat.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${cmdstat.t('instance')}, ${cmdstat.t('command')} fill(none)`,
        alias: '$tag_instance $tag_command',
      },
    ]),
    ts('Clients', 'short', [
      { query: inst(redis, `mean(${redis.f('connected_clients')})`), alias: '$tag_instance connected' },
      { query: inst(redis, `mean(${redis.f('blocked_clients')})`), alias: '$tag_instance blocked' },
    ]),
    ts('Memory', 'bytes', [
      { query: inst(redis, `mean(${redis.f('used_memory')})`), alias: '$tag_instance used' },
      { query: inst(redis, `mean(${redis.f('used_memory_rss')})`), alias: '$tag_instance rss' },
      { query: inst(redis, `max(${redis.f('headroom_limit_bytes')})`), alias: '$tag_instance limit' },
    ]),
    ts(
      'Keyspace hit ratio',
      'percentunit',
      [
        {
          query: inst(redis, `mean(${redis.f('keyspace_hit_ratio')})`, ` AND ${redis.f('keyspace_hit_ratio')} >= 0`),
          alias: '$tag_instance',
        },
      ],
      'hits / (hits + misses) per interval; intervals without lookups are left out',
    ),
    ts('Evictions and expirations /s', 'short', [
      { query: inst(redis, `mean(${redis.f('evicted_keys_per_sec')})`), alias: '$tag_instance evicted' },
      { query: inst(redis, `mean(${redis.f('expired_keys_per_sec')})`), alias: '$tag_instance expired' },
    ]),
    ts(
      'Replication: replica lag behind the master',
      'bytes',
      [
        {
          query: `SELECT max(${replica.f('lag_bytes')}) FROM ${replica} WHERE ${replica.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${replica.t('instance')}, ${replica.t('replica')} fill(none)`,
          alias: '$tag_instance → $tag_replica',
        },
      ],
      "master_repl_offset − the replica's acknowledged offset, from the master (redis_replica)",
    ),
    ts('Replication offsets of the cluster (master vs replicas)', 'bytes', [
      {
        query: `SELECT max(${redis.f('master_repl_offset')}) FROM ${redis} WHERE ${redis.where({ idc: 'idc', cluster: 'cluster' })} AND ${T} GROUP BY ${BY_TIME}, ${redis.t('instance')}, ${redis.t('role')} fill(none)`,
        alias: '$tag_role $tag_instance',
      },
    ]),
    ts(
      'Replication: master − replica offset per group',
      'bytes',
      [
        {
          query: `SELECT max(${replOffset.f('diff_bytes')}) FROM ${replOffset} WHERE ${replOffset.where({ cluster: 'cluster' })} AND ${T} GROUP BY ${BY_TIME}, ${replOffset.t('group')}, ${replOffset.t('replica')} fill(none)`,
          alias: '$tag_group $tag_replica',
        },
      ],
      "the master's master_repl_offset − the replica's slave_repl_offset, paired by master_replid in the collector (redis_repl_offset): the curve to watch during a resync or after a failover",
    ),
    ts(
      'Latency percentiles by command',
      'µs',
      [
        {
          query: `SELECT max(${latency.f('p50')}) FROM ${latency} WHERE ${latency.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${latency.t('instance')}, ${latency.t('command')} fill(none)`,
          alias: '$tag_command p50',
        },
        {
          query: `SELECT max(${latency.f('p99')}) FROM ${latency} WHERE ${latency.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${latency.t('instance')}, ${latency.t('command')} fill(none)`,
          alias: '$tag_command p99',
        },
        {
          query: `SELECT max(${latency.f('p99_9')}) FROM ${latency} WHERE ${latency.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${latency.t('instance')}, ${latency.t('command')} fill(none)`,
          alias: '$tag_command p99.9',
        },
      ],
      'INFO latencystats (Redis 7+)',
    ),
    ts('Forks', 'µs', [{ query: inst(redis, `max(${redis.f('latest_fork_usec')})`), alias: '$tag_instance latest fork' }]),
    ts('Persistence in progress', 'short', [
      { query: inst(redis, `max(${redis.f('rdb_bgsave_in_progress')})`), alias: '$tag_instance rdb' },
      { query: inst(redis, `max(${redis.f('aof_rewrite_in_progress')})`), alias: '$tag_instance aof' },
      { query: inst(redis, `max(${redis.f('rdb_changes_since_last_save')})`), alias: '$tag_instance changes since save' },
    ]),
    ts('Last fork copy-on-write', 'bytes', [
      { query: inst(redis, `max(${redis.f('rdb_last_cow_size')})`), alias: '$tag_instance rdb' },
      { query: inst(redis, `max(${redis.f('aof_last_cow_size')})`), alias: '$tag_instance aof' },
    ]),
    ts('Keys', 'short', [
      {
        query: `SELECT max(${keyspace.f('keys')}) FROM ${keyspace} WHERE ${keyspace.where(INST)} AND ${T} GROUP BY ${BY_TIME}, ${keyspace.t('instance')}, ${keyspace.t('db')} fill(none)`,
        alias: '$tag_instance $tag_db',
      },
    ]),
    table(
      'Persistence status',
      [
        {
          query: `SELECT last(${redis.f('rdb_last_bgsave_status')}) AS "rdb_status", last(${redis.f('aof_last_bgrewrite_status')}) AS "aof_status", last(${redis.f('total_forks')}) AS "forks", last(${redis.f('rdb_saves')}) AS "rdb_saves" FROM ${redis} WHERE ${redis.where(INST)} AND ${T} GROUP BY ${redis.t('instance')}`,
        },
      ],
      { h: 5 },
    ),
    table('Slowlog', [
      {
        query: `SELECT ${slowlog.f('duration_usec')}, ${slowlog.f('command')}, ${slowlog.f('client')}, ${slowlog.t('instance')} FROM ${slowlog} WHERE ${slowlog.where(INST)} AND ${T} ORDER BY time DESC LIMIT 100`,
      },
    ]),
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
  vars: [tagValues('idc', host, 'idc'), tagValues('host', host, 'host', { idc: 'idc' })],
  panels: [
    ts('CPU busy', 'percent', [{ query: hostQ(`mean(${host.f('cpu_percent')})`), alias: '$tag_host' }]),
    ts('Load', 'short', [{ query: hostQ(`mean(${host.f('load1')})`), alias: '$tag_host load1' }]),
    ts('Memory available vs reserved', 'bytes', [
      { query: hostQ(`mean(${host.f('mem_available_bytes')})`), alias: '$tag_host available' },
      { query: hostQ(`max(${host.f('maxmemory_reserved_bytes')})`), alias: '$tag_host reserved by maxmemory' },
      { query: hostQ(`max(${host.f('mem_total_bytes')})`), alias: '$tag_host total' },
    ]),
    ts(
      'Forks in progress',
      'short',
      [
        {
          query: `SELECT sum("forks") FROM (SELECT max(${redis.f('rdb_bgsave_in_progress')}) + max(${redis.f('aof_rewrite_in_progress')}) AS "forks" FROM ${redis} WHERE ${redis.where(HOST)} AND ${T} GROUP BY ${BY_TIME}, ${redis.t('instance')}, ${redis.t('host')}) WHERE ${T} ${BY_HOST}`,
          alias: '$tag_host',
        },
      ],
      "RDB saves and AOF rewrites running on the host's instances",
    ),
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
    {
      name: 'host',
      label: 'host',
      query: `SHOW TAG VALUES FROM ${codis}, ${twem} WITH KEY = ${codis.t('host')} WHERE ${twem.where({ idc: 'idc' })}`,
      multi: true,
    },
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
    ts(
      'codis-proxy per-command latency',
      'µs',
      [
        {
          query: `SELECT max(${codisCmd.f('usec_per_call')}) FROM ${codisCmd} WHERE ${codisCmd.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisCmd.t('proxy')}, ${codisCmd.t('command')} fill(none)`,
          alias: '$tag_command',
        },
      ],
      'average µs per call (cumulative); interval_usec_per_call is the same between two polls',
    ),
    ts('codis-proxy calls/s by command', 'ops', [
      {
        query: `SELECT non_negative_derivative(max(${codisCmd.f('calls')}), 1s) FROM ${codisCmd} WHERE ${codisCmd.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisCmd.t('proxy')}, ${codisCmd.t('command')} fill(none)`,
        alias: '$tag_command',
      },
    ]),
    table('codis-proxy groups (slot table vs Sentinels)', [
      {
        query: `SELECT last(${codisGroup.f('master')}) AS "master", last(${codisGroup.f('sentinel_master')}) AS "sentinel_master", last(${codisGroup.f('sentinel_agrees')}) AS "agrees", last(${codisGroup.f('slots')}) AS "slots" FROM ${codisGroup} WHERE ${codisGroup.where(PROXY)} AND ${T} GROUP BY ${codisGroup.t('proxy')}, ${codisGroup.t('group')}`,
      },
    ]),
    // codis-dashboard (agent dashboards[]): the product as its dashboard sees it.
    ts(
      'codis-dashboard migration queue',
      'short',
      ['pending', 'preparing', 'migrating'].map((st) => ({
        query: `SELECT max(${codisDash.f(`migration_${st}`)}) FROM ${codisDash} WHERE ${codisDash.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisDash.t('product')} fill(none)`,
        alias: `$tag_product ${st}`,
      })),
      'slots per migration state; migration_stalled_seconds says how long the queue has not moved (CodisMigrationStuck)',
    ),
    ts('codis-dashboard groups out of sync, servers / proxies unreachable', 'short', [
      {
        query: `SELECT max(${codisDash.f('groups_out_of_sync')}) FROM ${codisDash} WHERE ${codisDash.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisDash.t('product')} fill(none)`,
        alias: '$tag_product groups out of sync',
      },
      {
        query: `SELECT max(${codisDash.f('servers_unreachable')}) FROM ${codisDash} WHERE ${codisDash.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisDash.t('product')} fill(none)`,
        alias: '$tag_product servers unreachable',
      },
      {
        query: `SELECT max(${codisDash.f('proxies_unreachable')}) + max(${codisDash.f('proxies_offline')}) FROM ${codisDash} WHERE ${codisDash.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${codisDash.t('product')} fill(none)`,
        alias: '$tag_product proxies not online',
      },
    ]),
    table('codis-dashboard groups', [
      {
        query: `SELECT last(${codisDashGroup.f('master')}) AS "master", last(${codisDashGroup.f('servers')}) AS "servers", last(${codisDashGroup.f('servers_unreachable')}) AS "unreachable", last(${codisDashGroup.f('slots')}) AS "slots", last(${codisDashGroup.f('out_of_sync')}) AS "out_of_sync" FROM ${codisDashGroup} WHERE ${codisDashGroup.where(PROXY)} AND ${T} GROUP BY ${codisDashGroup.t('product')}, ${codisDashGroup.t('group')}`,
      },
    ]),
    ts('twemproxy requests/s', 'ops', [{ query: proxyQ(twem, `mean(${twem.f('requests_per_sec')})`), alias: '$tag_name $tag_proxy' }]),
    ts('twemproxy errors /s', 'short', [{ query: proxyQ(twem, `mean(${twem.f('errors_per_sec')})`), alias: '$tag_name' }]),
    ts('twemproxy client connections', 'short', [{ query: proxyQ(twem, `max(${twem.f('curr_connections')})`), alias: '$tag_name' }]),
    ts('twemproxy requests/s by pool', 'ops', [
      {
        query: `SELECT mean(${twemPool.f('requests_per_sec')}) FROM ${twemPool} WHERE ${twemPool.where(PROXY)} AND ${T} GROUP BY ${BY_TIME}, ${twemPool.t('proxy')}, ${twemPool.t('pool')} fill(none)`,
        alias: '$tag_pool',
      },
    ]),
    ts('twemproxy servers ejected', 'short', [{ query: proxyQ(twem, `max(${twem.f('servers_ejected')})`), alias: '$tag_name' }]),
    table('twemproxy backends', [
      {
        query: `SELECT last(${twemServer.f('ejected')}) AS "ejected", last(${twemServer.f('ejected_at_ms')}) AS "ejected_at_ms", last(${twemServer.f('server_connections')}) AS "connections", last(${twemServer.f('requests_per_sec')}) AS "requests_per_sec" FROM ${twemServer} WHERE ${twemServer.where(PROXY)} AND ${T} GROUP BY ${twemServer.t('proxy')}, ${twemServer.t('pool')}, ${twemServer.t('server')}`,
      },
    ]),
  ],
};

export const DASHBOARDS: DashboardSpec[] = [fleet, instance, hostDash, proxyDash];

// --- events as annotations ----------------------------------------------------------------------
// Event kinds (proto/schema.ts `event`) drawn on every dashboard's time axis, narrowed by $idc and
// $host (every dashboard has both).
interface AnnotationSpec {
  name: string;
  color: string;
  kinds: string[];
}
export const EVENT_ANNOTATIONS: AnnotationSpec[] = [
  { name: 'Failovers', color: 'red', kinds: ['sentinel.+switch-master', 'guard.demoted'] },
  { name: 'Fences', color: 'purple', kinds: ['guard.fenced', 'guard.unfenced', 'guard.fence_failed', 'guard.failsafe'] },
  { name: 'Forks', color: 'blue', kinds: ['fork.start', 'fork.end'] },
  { name: 'Down / up', color: 'orange', kinds: ['instance.down', 'instance.up', 'host.down', 'proxy.down'] },
];
const kindAlternation = (kinds: string[]): string => kinds.map((k) => k.replace(/[.+]/g, (c) => `\\${c}`)).join('|');

// --- PromQL / MetricsQL (VictoriaMetrics) -------------------------------------------------------
// VictoriaMetrics stores an InfluxDB line as one series per numeric field, named
// `<measurement>_<field>`, with the tags as labels (https://docs.victoriametrics.com/#how-to-send-data-from-influxdb-compatible-agents-such-as-telegraf);
// string fields are not stored, so `pm().m()` refuses them.

/** A measurement of proto/schema.ts as VictoriaMetrics names its series. */
class PromMeas {
  readonly meas: Meas;
  constructor(name: string) {
    this.meas = m(name);
  }
  /** `<measurement>_<field>{tag=~"$var",...}` for a numeric field. */
  m(field: string, vars: Record<string, string> = {}, extra: string[] = []): string {
    const fd = this.meas.def.fields[field];
    if (!fd) throw new Error(`grafana: ${this.meas.def.name} has no field ${field}`);
    if (fd.type === 'string') throw new Error(`grafana: ${this.meas.def.name}.${field} is a string: not stored by VictoriaMetrics`);
    const sel = [...Object.entries(vars).map(([tag, v]) => `${this.l(tag)}=~"$${v}"`), ...extra];
    return `${this.meas.def.name}_${field}${sel.length ? `{${sel.join(',')}}` : ''}`;
  }
  /** A tag as a label name (checked). */
  l(tag: string): string {
    this.meas.t(tag);
    return tag;
  }
  /** `by (a, b)` with checked labels. */
  by(...tags: string[]): string {
    return `by (${tags.map((t) => this.l(t)).join(', ')})`;
  }
}
const pm = (name: string): PromMeas => new PromMeas(name);

const pHost = pm('host');
const pRedis = pm('redis');
const pReplica = pm('redis_replica');
const pReplOffset = pm('redis_repl_offset');
const pKeyspace = pm('redis_keyspace');
const pCmdstat = pm('redis_cmdstat');
const pLatency = pm('redis_latency');
const pSlowlog = pm('redis_slowlog');
const pEvent = pm('event');
const pGuard = pm('guard');
const pCodis = pm('codis_proxy');
const pCodisCmd = pm('codis_proxy_cmd');
const pCodisGroup = pm('codis_proxy_group');
const pTwem = pm('twemproxy');
const pTwemPool = pm('twemproxy_pool');
const pTwemServer = pm('twemproxy_server');

const RANGE = '$__range';
const RATE = '$__rate_interval';

/** label_values() for a variable, narrowed by the variables before it. */
function labelValues(name: string, meas: PromMeas, field: string, tag: string, narrow: Record<string, string> = {}): VarSpec {
  return { name, label: tag, query: `label_values(${meas.m(field, narrow)}, ${meas.l(tag)})`, multi: true };
}

const problemKinds = `kind=~"${kindAlternation(PROBLEM_KINDS).replace(/\\/g, '\\\\')}"`;

const promFleet: DashboardSpec = {
  ...fleet,
  uid: 'redis-fleet-overview-prom',
  title: 'redis-fleet / Fleet overview (Prometheus)',
  vars: [
    labelValues('idc', pHost, 'cpu_cores', 'idc'),
    labelValues('cluster', pRedis, 'up', 'cluster', { idc: 'idc' }),
    labelValues('host', pHost, 'cpu_cores', 'host', { idc: 'idc' }),
  ],
  panels: [
    stat('Hosts reporting', [{ query: `count(max ${pHost.by('host')} (${pHost.m('cpu_cores', FLEET_HOST)}))` }]),
    stat('Instances', [{ query: `count(max ${pRedis.by('instance')} (${pRedis.m('up', FLEET_REDIS)}))` }]),
    stat('Instances up', [{ query: `sum(max ${pRedis.by('instance')} (${pRedis.m('up', FLEET_REDIS)}))` }]),
    stat('Fenced instances', [{ query: `sum(max ${pGuard.by('instance')} (${pGuard.m('fenced', FLEET_REDIS)}))` }], {
      thresholds: [[1, 'red']],
      description: 'sentinel-guard: masters fenced now (guard measurement)',
    }),
    stat('Problem events', [{ query: `sum(count_over_time(${pEvent.m('count', FLEET_HOST, [problemKinds])}[${RANGE}]))` }], {
      thresholds: [[1, 'orange']],
      description:
        'Alert state lives in the collector (GET /api/v1/alerts, the fleet console); the metrics engine holds the events that raise the built-in alerts: down, ejected, fenced, ...',
    }),
    stat('Max memory used', [{ query: `max(${pRedis.m('headroom_used_ratio', FLEET_REDIS)})` }], {
      unit: 'percentunit',
      thresholds: [
        [0.8, 'orange'],
        [0.9, 'red'],
      ],
    }),
    ts('Ops/s by cluster', 'ops', [
      { query: `sum ${pRedis.by('cluster')} (${pRedis.m('ops_per_sec', FLEET_REDIS)})`, alias: '{{cluster}}' },
    ]),
    ts(
      'Memory used / limit (top instances)',
      'percentunit',
      [{ query: `topk(20, max ${pRedis.by('instance')} (${pRedis.m('headroom_used_ratio', FLEET_REDIS)}))`, alias: '{{instance}}' }],
      'headroom_used_ratio: used_memory over maxmemory (or host memory when maxmemory is 0)',
    ),
    ts('Host memory reserved by maxmemory', 'percentunit', [
      {
        query: `max ${pHost.by('host')} (${pHost.m('maxmemory_reserved_bytes', FLEET_HOST)}) / max ${pHost.by('host')} (${pHost.m('mem_total_bytes', FLEET_HOST)})`,
        alias: '{{host}}',
      },
    ]),
    ts('Host memory available', 'bytes', [
      { query: `min ${pHost.by('host')} (${pHost.m('mem_available_bytes', FLEET_HOST)})`, alias: '{{host}}' },
    ]),
    table('Instances now', [
      { query: `max ${pRedis.by('host', 'instance', 'role', 'cluster', 'group')} (${pRedis.m('up', FLEET_REDIS)})`, alias: 'up' },
      {
        query: `max ${pRedis.by('host', 'instance', 'role', 'cluster', 'group')} (${pRedis.m('used_memory', FLEET_REDIS)})`,
        alias: 'used_memory',
      },
      {
        query: `max ${pRedis.by('host', 'instance', 'role', 'cluster', 'group')} (${pRedis.m('headroom_used_ratio', FLEET_REDIS)})`,
        alias: 'used_ratio',
      },
      {
        query: `max ${pRedis.by('host', 'instance', 'role', 'cluster', 'group')} (${pRedis.m('ops_per_sec', FLEET_REDIS)})`,
        alias: 'ops_per_sec',
      },
      {
        query: `max ${pRedis.by('host', 'instance', 'role', 'cluster', 'group')} (${pRedis.m('connected_clients', FLEET_REDIS)})`,
        alias: 'clients',
      },
    ]),
    table(
      'Fenced instances (guard)',
      [
        { query: `max ${pGuard.by('host', 'instance')} (${pGuard.m('fenced', FLEET_REDIS)})`, alias: 'fenced' },
        { query: `max ${pGuard.by('host', 'instance')} (${pGuard.m('fenced_since_ms', FLEET_REDIS)})`, alias: 'fenced_since_ms' },
      ],
      { description: 'phase, reason and waiting_for are strings: in the InfluxDB dashboards only' },
    ),
    table(
      'Events in the range',
      [
        {
          query: `sum ${pEvent.by('kind', 'instance', 'host')} (count_over_time(${pEvent.m('count', FLEET_HOST)}[${RANGE}]))`,
          alias: 'events',
        },
      ],
      { description: 'event counts by kind; the messages are strings: in the InfluxDB dashboards, or GET /api/v1/events' },
    ),
  ],
};

const pInst = (meas: PromMeas, field: string, extra: string[] = []): string => `max ${meas.by('instance')} (${meas.m(field, INST, extra)})`;

const promInstance: DashboardSpec = {
  ...instance,
  uid: 'redis-fleet-instance-prom',
  title: 'redis-fleet / Redis instance (Prometheus)',
  vars: [
    labelValues('idc', pRedis, 'up', 'idc'),
    labelValues('cluster', pRedis, 'up', 'cluster', { idc: 'idc' }),
    labelValues('host', pRedis, 'up', 'host', { idc: 'idc', cluster: 'cluster' }),
    labelValues('instance', pRedis, 'up', 'instance', { idc: 'idc', cluster: 'cluster', host: 'host' }),
  ],
  panels: [
    ts('Ops/s', 'ops', [{ query: pInst(pRedis, 'ops_per_sec'), alias: '{{instance}}' }]),
    ts('Commands/s by command', 'ops', [
      {
        query: `sum ${pCmdstat.by('instance', 'command')} (rate(${pCmdstat.m('calls', INST)}[${RATE}]))`,
        alias: '{{instance}} {{command}}',
      },
    ]),
    ts('Clients', 'short', [
      { query: pInst(pRedis, 'connected_clients'), alias: '{{instance}} connected' },
      { query: pInst(pRedis, 'blocked_clients'), alias: '{{instance}} blocked' },
    ]),
    ts('Memory', 'bytes', [
      { query: pInst(pRedis, 'used_memory'), alias: '{{instance}} used' },
      { query: pInst(pRedis, 'used_memory_rss'), alias: '{{instance}} rss' },
      { query: pInst(pRedis, 'headroom_limit_bytes'), alias: '{{instance}} limit' },
    ]),
    ts(
      'Keyspace hit ratio',
      'percentunit',
      [{ query: `${pInst(pRedis, 'keyspace_hit_ratio')} >= 0`, alias: '{{instance}}' }],
      'hits / (hits + misses) per interval; intervals without lookups are left out',
    ),
    ts('Evictions and expirations /s', 'short', [
      { query: pInst(pRedis, 'evicted_keys_per_sec'), alias: '{{instance}} evicted' },
      { query: pInst(pRedis, 'expired_keys_per_sec'), alias: '{{instance}} expired' },
    ]),
    ts(
      'Replication: replica lag behind the master',
      'bytes',
      [{ query: `max ${pReplica.by('instance', 'replica')} (${pReplica.m('lag_bytes', INST)})`, alias: '{{instance}} → {{replica}}' }],
      "master_repl_offset − the replica's acknowledged offset, from the master (redis_replica)",
    ),
    ts('Replication offsets of the cluster (master vs replicas)', 'bytes', [
      {
        query: `max ${pRedis.by('instance', 'role')} (${pRedis.m('master_repl_offset', { idc: 'idc', cluster: 'cluster' })})`,
        alias: '{{role}} {{instance}}',
      },
    ]),
    ts(
      'Replication: master − replica offset per group',
      'bytes',
      [
        {
          query: `max ${pReplOffset.by('group', 'replica')} (${pReplOffset.m('diff_bytes', { cluster: 'cluster' })})`,
          alias: '{{group}} {{replica}}',
        },
      ],
      "the master's master_repl_offset − the replica's slave_repl_offset, paired by master_replid in the collector (redis_repl_offset)",
    ),
    ts(
      'Latency percentiles by command',
      'µs',
      [
        { query: `max ${pLatency.by('instance', 'command')} (${pLatency.m('p50', INST)})`, alias: '{{command}} p50' },
        { query: `max ${pLatency.by('instance', 'command')} (${pLatency.m('p99', INST)})`, alias: '{{command}} p99' },
        { query: `max ${pLatency.by('instance', 'command')} (${pLatency.m('p99_9', INST)})`, alias: '{{command}} p99.9' },
      ],
      'INFO latencystats (Redis 7+)',
    ),
    ts('Forks', 'µs', [{ query: pInst(pRedis, 'latest_fork_usec'), alias: '{{instance}} latest fork' }]),
    ts('Persistence in progress', 'short', [
      { query: pInst(pRedis, 'rdb_bgsave_in_progress'), alias: '{{instance}} rdb' },
      { query: pInst(pRedis, 'aof_rewrite_in_progress'), alias: '{{instance}} aof' },
      { query: pInst(pRedis, 'rdb_changes_since_last_save'), alias: '{{instance}} changes since save' },
    ]),
    ts('Last fork copy-on-write', 'bytes', [
      { query: pInst(pRedis, 'rdb_last_cow_size'), alias: '{{instance}} rdb' },
      { query: pInst(pRedis, 'aof_last_cow_size'), alias: '{{instance}} aof' },
    ]),
    ts('Keys', 'short', [{ query: `max ${pKeyspace.by('instance', 'db')} (${pKeyspace.m('keys', INST)})`, alias: '{{instance}} {{db}}' }]),
    table(
      'Persistence status',
      [
        { query: pInst(pRedis, 'total_forks'), alias: 'forks' },
        { query: pInst(pRedis, 'rdb_saves'), alias: 'rdb_saves' },
      ],
      { h: 5, description: 'the last bgsave / rewrite status strings are in the InfluxDB dashboards only' },
    ),
    table(
      'Slowlog',
      [
        {
          query: `max ${pSlowlog.by('instance', 'command_name')} (max_over_time(${pSlowlog.m('duration_usec', INST)}[${RANGE}]))`,
          alias: 'max duration_usec',
        },
      ],
      { description: 'the slowest entry per command in the range; full command lines are strings: in the InfluxDB dashboards only' },
    ),
  ],
};

const pHostQ = (field: string, agg = 'max'): string => `${agg} ${pHost.by('host')} (${pHost.m(field, HOST)})`;

const promHost: DashboardSpec = {
  ...hostDash,
  uid: 'redis-fleet-host-prom',
  title: 'redis-fleet / Host (Prometheus)',
  vars: [labelValues('idc', pHost, 'cpu_cores', 'idc'), labelValues('host', pHost, 'cpu_cores', 'host', { idc: 'idc' })],
  panels: [
    ts('CPU busy', 'percent', [{ query: pHostQ('cpu_percent', 'avg'), alias: '{{host}}' }]),
    ts('Load', 'short', [{ query: pHostQ('load1', 'avg'), alias: '{{host}} load1' }]),
    ts('Memory available vs reserved', 'bytes', [
      { query: pHostQ('mem_available_bytes', 'min'), alias: '{{host}} available' },
      { query: pHostQ('maxmemory_reserved_bytes'), alias: '{{host}} reserved by maxmemory' },
      { query: pHostQ('mem_total_bytes'), alias: '{{host}} total' },
    ]),
    ts(
      'Forks in progress',
      'short',
      [
        {
          query: `sum ${pRedis.by('host')} (${pRedis.m('rdb_bgsave_in_progress', HOST)}) + sum ${pRedis.by('host')} (${pRedis.m('aof_rewrite_in_progress', HOST)})`,
          alias: '{{host}}',
        },
      ],
      "RDB saves and AOF rewrites running on the host's instances",
    ),
    ts('Instances and slots', 'short', [
      { query: pHostQ('running_instances'), alias: '{{host}} running' },
      { query: pHostQ('instance_slots'), alias: '{{host}} slots' },
      { query: pHostQ('idle_instances'), alias: '{{host}} idle' },
    ]),
    ts('Disk free', 'bytes', [{ query: pHostQ('disk_free_bytes', 'min'), alias: '{{host}}' }]),
    ts('Disk IO', 'Bps', [
      { query: pHostQ('disk_read_bytes_per_sec', 'avg'), alias: '{{host}} read' },
      { query: pHostQ('disk_write_bytes_per_sec', 'avg'), alias: '{{host}} write' },
    ]),
    ts('Network', 'Bps', [
      { query: pHostQ('net_rx_bytes_per_sec', 'avg'), alias: '{{host}} rx' },
      { query: pHostQ('net_tx_bytes_per_sec', 'avg'), alias: '{{host}} tx' },
    ]),
    ts('Agent', 'short', [
      { query: pHostQ('agent_buffered_reports'), alias: '{{host}} buffered reports' },
      { query: pHostQ('agent_tick_cpu_ms', 'avg'), alias: '{{host}} tick CPU ms' },
    ]),
  ],
};

const pProxy = (meas: PromMeas, field: string): string => `max ${meas.by('proxy', 'name')} (${meas.m(field, PROXY)})`;

const promProxy: DashboardSpec = {
  ...proxyDash,
  uid: 'redis-fleet-proxy-prom',
  title: 'redis-fleet / Proxy (Prometheus)',
  vars: [
    labelValues('idc', pHost, 'cpu_cores', 'idc'),
    {
      name: 'host',
      label: 'host',
      query: `label_values({__name__=~"${pCodis.m('up')}|${pTwem.m('up')}",${pTwem.l('idc')}=~"$idc"}, ${pTwem.l('host')})`,
      multi: true,
    },
  ],
  panels: [
    ts('codis-proxy ops/s', 'ops', [{ query: pProxy(pCodis, 'ops_per_sec'), alias: '{{name}} {{proxy}}' }]),
    ts('codis-proxy fails /s', 'short', [
      { query: pProxy(pCodis, 'fails_per_sec'), alias: '{{name}} fails' },
      { query: pProxy(pCodis, 'redis_errors_per_sec'), alias: '{{name}} redis errors' },
    ]),
    ts('codis-proxy sessions', 'short', [
      { query: pProxy(pCodis, 'sessions_alive'), alias: '{{name}} alive' },
      { query: pProxy(pCodis, 'proxy_max_clients'), alias: '{{name}} max' },
    ]),
    ts(
      'codis-proxy per-command latency',
      'µs',
      [{ query: `max ${pCodisCmd.by('proxy', 'command')} (${pCodisCmd.m('usec_per_call', PROXY)})`, alias: '{{command}}' }],
      'average µs per call (cumulative); interval_usec_per_call is the same between two polls',
    ),
    ts('codis-proxy calls/s by command', 'ops', [
      { query: `sum ${pCodisCmd.by('proxy', 'command')} (rate(${pCodisCmd.m('calls', PROXY)}[${RATE}]))`, alias: '{{command}}' },
    ]),
    table(
      'codis-proxy groups (slot table)',
      [
        { query: `max ${pCodisGroup.by('proxy', 'group')} (${pCodisGroup.m('slots', PROXY)})`, alias: 'slots' },
        { query: `max ${pCodisGroup.by('proxy', 'group')} (${pCodisGroup.m('replicas', PROXY)})`, alias: 'replicas' },
      ],
      { description: 'the master addresses (slot table vs Sentinels) are strings: in the InfluxDB dashboards only' },
    ),
    ts('twemproxy requests/s', 'ops', [{ query: pProxy(pTwem, 'requests_per_sec'), alias: '{{name}} {{proxy}}' }]),
    ts('twemproxy errors /s', 'short', [{ query: pProxy(pTwem, 'errors_per_sec'), alias: '{{name}}' }]),
    ts('twemproxy client connections', 'short', [{ query: pProxy(pTwem, 'curr_connections'), alias: '{{name}}' }]),
    ts('twemproxy requests/s by pool', 'ops', [
      { query: `avg ${pTwemPool.by('proxy', 'pool')} (${pTwemPool.m('requests_per_sec', PROXY)})`, alias: '{{pool}}' },
    ]),
    ts('twemproxy servers ejected', 'short', [{ query: pProxy(pTwem, 'servers_ejected'), alias: '{{name}}' }]),
    table('twemproxy backends', [
      { query: `max ${pTwemServer.by('proxy', 'pool', 'server')} (${pTwemServer.m('ejected', PROXY)})`, alias: 'ejected' },
      { query: `max ${pTwemServer.by('proxy', 'pool', 'server')} (${pTwemServer.m('ejected_at_ms', PROXY)})`, alias: 'ejected_at_ms' },
      { query: `max ${pTwemServer.by('proxy', 'pool', 'server')} (${pTwemServer.m('server_connections', PROXY)})`, alias: 'connections' },
      {
        query: `max ${pTwemServer.by('proxy', 'pool', 'server')} (${pTwemServer.m('requests_per_sec', PROXY)})`,
        alias: 'requests_per_sec',
      },
    ]),
  ],
};

export const PROMETHEUS_DASHBOARDS: DashboardSpec[] = [promFleet, promInstance, promHost, promProxy];

// --- rendering ----------------------------------------------------------------------------------

/** What differs between the two datasource types. */
interface Flavor {
  /** The datasource plugin id. */
  type: 'influxdb' | 'prometheus';
  pluginName: string;
  /** The __inputs name a UI import asks for. */
  input: string;
  target(t: Target): Record<string, unknown>;
  variableQuery(v: VarSpec): Pick<VariableModel, 'query'> & { definition: string };
  annotation(a: AnnotationSpec): Record<string, unknown>;
}

/** The datasource every panel, target, variable and annotation names: the `DS` variable. */
export const DS_REF: DataSourceRef = { uid: '${DS}' };

const INFLUX: Flavor = {
  type: 'influxdb',
  pluginName: 'InfluxDB',
  input: 'DS_INFLUXDB',
  target: (t) => ({ rawQuery: true, query: t.query, resultFormat: t.format ?? 'time_series', ...(t.alias ? { alias: t.alias } : {}) }),
  variableQuery: (v) => ({ query: v.query, definition: v.query }),
  annotation: (a) => {
    const query = `SELECT ${event.f('message')}, ${event.t('kind')}, ${event.t('instance')}, ${event.t('host')} FROM ${event} WHERE ${event.t('kind')} =~ /^(${kindAlternation(a.kinds)})$/ AND ${event.where({ idc: 'idc', host: 'host' })} AND ${T}`;
    return {
      query,
      textColumn: 'message',
      tagsColumn: 'kind,instance,host',
      target: { refId: 'Anno', rawQuery: true, query, resultFormat: 'table', textColumn: 'message', tagsColumn: 'kind,instance,host' },
    };
  },
};

const PROMETHEUS: Flavor = {
  type: 'prometheus',
  pluginName: 'Prometheus',
  input: 'DS_PROMETHEUS',
  target: (t) => ({
    expr: t.query,
    ...(t.alias ? { legendFormat: t.alias } : {}),
    ...(t.format === 'table' ? { format: 'table', instant: true, range: false } : { range: true, instant: false }),
  }),
  variableQuery: (v) => ({
    query: { query: v.query, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
    definition: v.query,
  }),
  annotation: (a) => {
    const expr = `sum ${pEvent.by('kind', 'instance', 'host')} (count_over_time(${pEvent.m('count', { idc: 'idc', host: 'host' }, [`kind=~"${kindAlternation(a.kinds).replace(/\\/g, '\\\\')}"`])}[$__interval]))`;
    return {
      expr,
      step: '10s',
      titleFormat: '{{kind}}',
      textFormat: '{{instance}} on {{host}}',
      tagKeys: 'kind,instance,host',
      useValueForTime: false,
    };
  },
};

/** An exported dashboard: the schema's Dashboard plus what a UI import reads. */
export type ExportedDashboard = Dashboard & {
  __inputs: { name: string; label: string; description: string; type: 'datasource'; pluginId: string; pluginName: string }[];
  __requires: { type: 'grafana' | 'datasource' | 'panel'; id: string; name: string; version: string }[];
};

/** Grafana dashboard JSON (schemaVersion 39) of one spec. */
export function renderDashboard(d: DashboardSpec, flavor: Flavor = INFLUX): ExportedDashboard {
  const ds: DataSourceRef = { type: flavor.type, ...DS_REF };
  let x = 0;
  let y = 0;
  let rowH = 0;
  let id = 0;
  const panels: Panel[] = d.panels.map((p) => {
    const w = p.w ?? 12;
    const h = p.h ?? 8;
    if (x + w > 24) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    const gridPos = { h, w, x, y };
    x += w;
    rowH = Math.max(rowH, h);
    const steps: { color: string; value: number | null }[] = [
      { color: 'green', value: null },
      ...(p.thresholds ?? []).map(([value, color]) => ({ color, value })),
    ];
    return {
      id: ++id,
      type: p.type,
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      datasource: ds,
      gridPos,
      fieldConfig: {
        defaults: { ...(p.unit ? { unit: p.unit } : {}), thresholds: { mode: ThresholdsMode.Absolute, steps } },
        overrides: [],
      },
      options:
        p.type === 'stat'
          ? {
              reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
              colorMode: 'value',
              graphMode: 'none',
              textMode: 'auto',
            }
          : p.type === 'table'
            ? { showHeader: true }
            : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
      // Several instant queries of one table become one row per series.
      ...(flavor.type === 'prometheus' && p.type === 'table' && p.targets.length > 1
        ? { transformations: [{ id: 'merge', options: {} }] }
        : {}),
      targets: p.targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: ds, ...flavor.target(t) })),
    };
  });
  const dsVar: VariableModel = {
    name: 'DS',
    label: flavor.pluginName,
    type: 'datasource',
    query: flavor.type,
    // A UI import replaces ${DS_...} with the datasource picked in the import dialog; a provisioned
    // copy starts on the first datasource of the type (grafana/README.md).
    current: { selected: false, text: `\${${flavor.input}}`, value: `\${${flavor.input}}` },
    hide: VariableHide.dontHide,
    includeAll: false,
    multi: false,
    options: [],
    refresh: VariableRefresh.onDashboardLoad,
    regex: '',
  };
  const vars: VariableModel[] = d.vars.map((v) => ({
    name: v.name,
    label: v.label,
    type: 'query',
    datasource: ds,
    ...flavor.variableQuery(v),
    refresh: VariableRefresh.onTimeRangeChanged,
    includeAll: true,
    // All is a match-anything regex: no huge alternation on a big fleet, and hosts without the label match too.
    allValue: '.*',
    multi: v.multi ?? true,
    sort: VariableSort.alphabeticalAsc,
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
  }));
  const builtIn: AnnotationQuery = {
    builtIn: 1,
    datasource: { type: 'grafana', uid: '-- Grafana --' },
    enable: true,
    hide: true,
    iconColor: 'rgba(0, 211, 255, 1)',
    name: 'Annotations & Alerts',
    type: 'dashboard',
  };
  const events: AnnotationQuery[] = EVENT_ANNOTATIONS.map((a) => ({
    name: a.name,
    datasource: ds,
    enable: true,
    hide: false,
    iconColor: a.color,
    ...flavor.annotation(a),
  }));
  const link: DashboardLink = {
    title: 'Fleet overview',
    type: 'dashboards',
    tags: ['redis-fleet'],
    asDropdown: true,
    includeVars: true,
    keepTime: true,
    icon: 'external link',
    targetBlank: false,
    tooltip: '',
    url: '',
  };
  const overview = d.uid.startsWith('redis-fleet-overview');
  return {
    __inputs: [
      {
        name: flavor.input,
        label: flavor.pluginName,
        description: `the ${flavor.pluginName} datasource redis-fleet writes to`,
        type: 'datasource',
        pluginId: flavor.type,
        pluginName: flavor.pluginName,
      },
    ],
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
      { type: 'datasource', id: flavor.type, name: flavor.pluginName, version: '1.0.0' },
      ...[...new Set(d.panels.map((p) => p.type))].sort().map((p) => ({ type: 'panel' as const, id: p, name: p, version: '' })),
    ],
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: [...d.tags, ...(flavor.type === 'prometheus' ? ['prometheus'] : [])],
    editable: true,
    graphTooltip: DashboardCursorSync.Crosshair,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    annotations: { list: [builtIn, ...events] },
    links: overview ? [] : [{ ...link, tags: [...link.tags, ...(flavor.type === 'prometheus' ? ['prometheus'] : [])] }],
    templating: { list: [dsVar, ...vars] },
    panels,
  };
}

/** file name → JSON text: InfluxQL dashboards as written to grafana/dashboards/, Prometheus ones to grafana/dashboards-prometheus/. */
export function renderAll(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of DASHBOARDS) out[`dashboards/${d.uid}.json`] = `${JSON.stringify(renderDashboard(d, INFLUX), null, 2)}\n`;
  for (const d of PROMETHEUS_DASHBOARDS)
    out[`dashboards-prometheus/${d.uid}.json`] = `${JSON.stringify(renderDashboard(d, PROMETHEUS), null, 2)}\n`;
  return out;
}
