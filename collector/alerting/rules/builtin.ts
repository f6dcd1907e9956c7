// The built-in rules, on by default. Thresholds come from what operators ask for
// (reference/alerting-and-scheduling.md §5: awesome-prometheus-alerts, CacheCloud
// defaults). Each can be disabled or re-tuned in `alerting.builtins`; the README's
// table is this list.
import type { RawRule } from './load.js';

const crit = { severity: 'critical' };
const warn = { severity: 'warning' };

export const BUILTIN_RULES: RawRule[] = [
  // --- instances ---
  { name: 'RedisInstanceDown', measurement: 'redis', expr: 'up', op: '==', value: 0, labels: crit,
    annotations: { summary: 'Redis {{ $labels.instance }} on {{ $labels.host }} does not answer' } },
  { name: 'RedisMasterWithoutReplica', measurement: 'redis', expr: 'connected_slaves', op: '==', value: 0, for: '30s',
    where: ['role="master"', 'cluster=~".+"'], labels: crit,
    annotations: { summary: 'master {{ $labels.instance }} (cluster {{ $labels.cluster }}) has no connected replica' } },
  { name: 'RedisReplicaLinkDown', measurement: 'redis', expr: 'master_link_status', op: '!=', value: 'up', for: '30s',
    where: ['role="slave"'], labels: crit,
    annotations: { summary: 'replica {{ $labels.instance }} has lost its master link' } },
  { name: 'RedisReplicationLagBytes', measurement: 'redis_replica', expr: 'lag_bytes', op: '>', value: 20_000_000, for: '1m', labels: warn,
    annotations: { summary: 'replica {{ $labels.replica }} of {{ $labels.instance }} is {{ $value }} bytes behind' } },
  { name: 'RedisMemoryHigh', measurement: 'redis', expr: 'headroom_used_ratio', op: '>', value: 0.9, for: '1m', labels: warn,
    annotations: { summary: '{{ $labels.instance }} uses {{ $value }} of its memory limit (maxmemory, else host memory)' } },
  { name: 'RedisClientsHigh', measurement: 'redis', expr: 'connected_clients / maxclients', op: '>', value: 0.9, for: '1m', labels: warn,
    annotations: { summary: '{{ $labels.instance }} has {{ $value }} of maxclients connected' } },
  { name: 'RedisRejectedConnections', measurement: 'redis', expr: 'rejected_connections_per_sec', op: '>', value: 0, labels: crit,
    annotations: { summary: '{{ $labels.instance }} rejects connections ({{ $value }}/s): maxclients reached' } },
  { name: 'RedisEvictions', measurement: 'redis', expr: 'evicted_keys_per_sec', op: '>', value: 0, labels: warn,
    annotations: { summary: '{{ $labels.instance }} evicts keys ({{ $value }}/s)' } },
  { name: 'RedisRdbSaveFailed', measurement: 'redis', expr: 'rdb_last_bgsave_status', op: '!=', value: 'ok', labels: crit,
    annotations: { summary: 'the last RDB save of {{ $labels.instance }} failed' } },
  { name: 'RedisAofRewriteFailed', measurement: 'redis', expr: 'aof_last_bgrewrite_status', op: '!=', value: 'ok', labels: crit,
    annotations: { summary: 'the last AOF rewrite of {{ $labels.instance }} failed' } },
  { name: 'RedisSlowFork', measurement: 'redis', expr: 'latest_fork_usec', op: '>', value: 400_000, labels: warn,
    annotations: { summary: 'the last fork of {{ $labels.instance }} took {{ $value }} µs' } },
  // --- hosts ---
  { name: 'HostSilent', event: 'host.down', resolvedBy: 'host.up', labels: crit,
    annotations: { summary: 'host {{ $labels.host }} stopped reporting' } },
  { name: 'HostMemAvailableLow', measurement: 'host', expr: 'mem_available_bytes / mem_total_bytes', op: '<', value: 0.1, for: '1m', labels: warn,
    annotations: { summary: 'host {{ $labels.host }} has {{ $value }} of its memory available' } },
  // --- guard / sentinel (event names the guard emits) ---
  { name: 'GuardZooKeeperUnreachable', event: 'guard.zk_unreachable', resolvedBy: 'guard.zk_reachable', labels: crit,
    annotations: { summary: 'the guard on {{ $labels.host }} cannot reach ZooKeeper' } },
  { name: 'InstanceFenced', event: 'guard.fenced', resolvedBy: 'guard.unfenced', labels: crit,
    annotations: { summary: '{{ $labels.instance }} on {{ $labels.host }} was fenced' } },
  // One per failover however many agents saw it: the collector folds every +switch-master and
  // promotion seen in samples into one `redis.failover` event (collector/failover/).
  { name: 'RedisFailover', event: 'redis.failover', attrs: ['cluster', 'group', 'master', 'old', 'new', 'when'], resolveAfter: '5m', labels: crit,
    annotations: { summary: '{{ $value }} at {{ $labels.when }}' } },
  // --- proxies ---
  { name: 'ProxyDown', event: 'proxy.down', resolvedBy: 'proxy.up', labels: crit,
    annotations: { summary: 'proxy {{ $labels.instance }} on {{ $labels.host }} does not answer' } },
  { name: 'ProxyBackendEjected', event: 'proxy.server_ejected', attrs: ['pool', 'server'], resolveAfter: '15m', labels: warn,
    annotations: { summary: 'proxy {{ $labels.instance }} ejected backend {{ $labels.pool }}/{{ $labels.server }}' } },
  { name: 'ProxySessionsHigh', measurement: 'codis_proxy', expr: 'sessions_ratio', op: '>', value: 0.9, for: '1m', labels: warn,
    annotations: { summary: 'codis-proxy {{ $labels.proxy }} has {{ $value }} of its client limit in use' } },
  { name: 'CodisStaleRoute', measurement: 'codis_proxy_group', expr: 'sentinel_agrees', op: '==', value: 0, for: '30s', labels: crit,
    annotations: { summary: 'codis-proxy {{ $labels.proxy }} routes group {{ $labels.group }} to a master its Sentinels disagree with (stale route)' } },
  // --- codis (dashboard and proxy states) ---
  { name: 'CodisDashboardDown', event: 'dashboard.down', resolvedBy: 'dashboard.up', labels: crit,
    annotations: { summary: 'codis-dashboard {{ $labels.instance }} on {{ $labels.host }} does not answer' } },
  { name: 'CodisDashboardMisconfigured', measurement: 'codis_dashboard', expr: 'misconfigured', op: '==', value: 1, labels: warn,
    annotations: { summary: 'codis-dashboard {{ $labels.dashboard }} answers but serves another product or is not online' } },
  { name: 'CodisGroupOutOfSync', measurement: 'codis_dashboard_group', expr: 'out_of_sync', op: '==', value: 1, for: '2m', labels: warn,
    annotations: { summary: 'Codis {{ $labels.product }} group {{ $labels.group }} is out of sync (a failover left it; resync the group)' } },
  { name: 'CodisServerUnreachable', measurement: 'codis_dashboard_server', expr: 'up', op: '==', value: 0, for: '30s', labels: crit,
    annotations: { summary: 'codis-dashboard of {{ $labels.product }} cannot reach group {{ $labels.group }} server {{ $labels.server }}' } },
  { name: 'CodisMigrationStuck', measurement: 'codis_dashboard', expr: 'migration_stalled_seconds', op: '>', value: 300, labels: warn,
    annotations: { summary: 'Codis {{ $labels.product }}: the slot-migration queue has not moved for {{ $value }} s' } },
  { name: 'CodisProxyOffline', measurement: 'codis_proxy', expr: 'online', op: '==', value: 0, labels: crit,
    annotations: { summary: 'codis-proxy {{ $labels.proxy }} is not online: every client gets "ERR router is not online"' } },
  { name: 'CodisProxyClosed', measurement: 'codis_proxy', expr: 'closed', op: '==', value: 1, labels: crit,
    annotations: { summary: 'codis-proxy {{ $labels.proxy }} is closed' } },
  { name: 'CodisProxySlotsUnassigned', measurement: 'codis_proxy', expr: 'slots_unassigned', op: '>', value: 0, for: '30s', labels: crit,
    annotations: { summary: 'codis-proxy {{ $labels.proxy }} has {{ $value }} slots without a backend' } },
  { name: 'ProxyMisconfigured', measurement: 'codis_proxy', expr: 'misconfigured', op: '==', value: 1, labels: warn,
    annotations: { summary: 'codis-proxy {{ $labels.proxy }} answers but refuses our product auth or serves another product' } },
  // --- the collector's own storage path (collector/storage-watch.ts) ---
  { name: 'CollectorSpooling', event: 'collector.spooling', resolvedBy: 'collector.spool_drained', labels: warn,
    annotations: { summary: 'InfluxDB does not take points; the collector spools them to disk ({{ $labels.host }})' } },
  { name: 'CollectorBackpressure', event: 'collector.backpressure', resolvedBy: 'collector.backpressure_cleared', labels: crit,
    annotations: { summary: 'the collector has no room to store reports: it stops acking and agents buffer' } },
  { name: 'MetricsDropped', event: 'collector.points_dropped', resolveAfter: '15m', labels: crit,
    annotations: { summary: 'the collector dropped points (counts in /healthz drops)' } },
];

/** Default inhibitions: a silent host mutes its instances' alerts, a down instance mutes its other alerts. */
export const BUILTIN_INHIBIT_RULES = [
  { name: 'host-silent', sourceMatchers: ['alertname="HostSilent"'], targetMatchers: ['alertname!="HostSilent"', 'host=~".+"'], equal: ['host'] },
  { name: 'instance-down', sourceMatchers: ['alertname="RedisInstanceDown"'], targetMatchers: ['alertname!~"RedisInstanceDown|HostSilent"', 'instance=~".+"'], equal: ['host', 'instance'] },
];
