// Where the names people know from redis_exporter (Prometheus) and Telegraf's redis input land in
// our schema: rendered into docs/schema.md; test/schema.test.ts checks every `ours` against
// MEASUREMENTS and every exporter name against a real redis_exporter 1.45 capture.
// Sources: https://github.com/oliver006/redis_exporter (metric names) and
// https://github.com/influxdata/telegraf/tree/master/plugins/inputs/redis (measurements, fields).

export interface NameMapping {
  /** measurement.field in redis-fleet. */
  ours: string;
  /** redis_exporter metric (labels in braces), '' when it has none. */
  exporter: string;
  /** Telegraf measurement.field, '' when it has none. */
  telegraf: string;
  /** What differs beyond the name (units, counters vs rates). */
  note: string;
}

export const NAME_MAPPINGS: NameMapping[] = [
  { ours: 'redis.up', exporter: 'redis_up', telegraf: '', note: 'ours also says why in `redis.error`' },
  { ours: 'redis.uptime_in_seconds', exporter: 'redis_uptime_in_seconds', telegraf: 'redis.uptime', note: '' },
  { ours: 'redis.connected_clients', exporter: 'redis_connected_clients', telegraf: 'redis.clients', note: '' },
  { ours: 'redis.blocked_clients', exporter: 'redis_blocked_clients', telegraf: 'redis.blocked_clients', note: '' },
  { ours: 'redis.used_memory', exporter: 'redis_memory_used_bytes', telegraf: 'redis.used_memory', note: '' },
  { ours: 'redis.used_memory_rss', exporter: 'redis_memory_used_rss_bytes', telegraf: 'redis.used_memory_rss', note: '' },
  { ours: 'redis.maxmemory', exporter: 'redis_memory_max_bytes', telegraf: 'redis.maxmemory', note: 'ours from CONFIG GET when allowed' },
  { ours: 'redis.headroom_used_ratio', exporter: '', telegraf: '', note: 'used / (maxmemory, or host memory when maxmemory is 0)' },
  { ours: 'redis.mem_fragmentation_ratio', exporter: 'redis_mem_fragmentation_ratio', telegraf: 'redis.mem_fragmentation_ratio', note: '' },
  {
    ours: 'redis.total_commands_processed',
    exporter: 'redis_commands_processed_total',
    telegraf: 'redis.total_commands_processed',
    note: 'raw counter',
  },
  {
    ours: 'redis.ops_per_sec',
    exporter: '',
    telegraf: 'redis.instantaneous_ops_per_sec',
    note: "ours: exact rate over the interval, not Redis's sampled estimate",
  },
  { ours: 'redis.keyspace_hits', exporter: 'redis_keyspace_hits_total', telegraf: 'redis.keyspace_hits', note: '' },
  { ours: 'redis.keyspace_misses', exporter: 'redis_keyspace_misses_total', telegraf: 'redis.keyspace_misses', note: '' },
  {
    ours: 'redis.keyspace_hit_ratio',
    exporter: '',
    telegraf: 'redis.keyspace_hitrate',
    note: "ours over the last interval; Telegraf's since start",
  },
  {
    ours: 'redis.evicted_keys',
    exporter: 'redis_evicted_keys_total',
    telegraf: 'redis.evicted_keys',
    note: 'rate: `redis.evicted_keys_per_sec`',
  },
  {
    ours: 'redis.expired_keys',
    exporter: 'redis_expired_keys_total',
    telegraf: 'redis.expired_keys',
    note: 'rate: `redis.expired_keys_per_sec`',
  },
  {
    ours: 'redis.total_net_input_bytes',
    exporter: 'redis_net_input_bytes_total',
    telegraf: 'redis.total_net_input_bytes',
    note: 'rate: `redis.net_input_bytes_per_sec`',
  },
  {
    ours: 'redis.total_net_output_bytes',
    exporter: 'redis_net_output_bytes_total',
    telegraf: 'redis.total_net_output_bytes',
    note: 'rate: `redis.net_output_bytes_per_sec`',
  },
  { ours: 'redis.rejected_connections', exporter: 'redis_rejected_connections_total', telegraf: 'redis.rejected_connections', note: '' },
  { ours: 'redis.used_cpu_sys', exporter: 'redis_cpu_sys_seconds_total', telegraf: 'redis.used_cpu_sys', note: '' },
  { ours: 'redis.used_cpu_user', exporter: 'redis_cpu_user_seconds_total', telegraf: 'redis.used_cpu_user', note: '' },
  {
    ours: 'redis.latest_fork_usec',
    exporter: 'redis_latest_fork_seconds',
    telegraf: 'redis.latest_fork_usec',
    note: 'exporter in seconds',
  },
  { ours: 'redis.rdb_bgsave_in_progress', exporter: 'redis_rdb_bgsave_in_progress', telegraf: 'redis.rdb_bgsave_in_progress', note: '' },
  {
    ours: 'redis.rdb_last_bgsave_status',
    exporter: 'redis_rdb_last_bgsave_status',
    telegraf: 'redis.rdb_last_bgsave_status',
    note: 'ours and Telegraf\'s a string ("ok"/"err"); the exporter\'s 1/0',
  },
  { ours: 'redis.aof_rewrite_in_progress', exporter: 'redis_aof_rewrite_in_progress', telegraf: 'redis.aof_rewrite_in_progress', note: '' },
  { ours: 'redis.connected_slaves', exporter: 'redis_connected_slaves', telegraf: 'redis.connected_slaves', note: '' },
  { ours: 'redis.master_repl_offset', exporter: 'redis_master_repl_offset', telegraf: 'redis.master_repl_offset', note: '' },
  {
    ours: 'redis_replica.offset',
    exporter: 'redis_connected_slave_offset_bytes{slave_ip,slave_port,slave_state}',
    telegraf: 'redis_replication.offset',
    note: 'ours tagged `replica` (ip:port) and `state`',
  },
  {
    ours: 'redis_replica.lag_seconds',
    exporter: 'redis_connected_slave_lag_seconds{slave_ip,slave_port,slave_state}',
    telegraf: 'redis_replication.lag',
    note: '',
  },
  { ours: 'redis_replica.lag_bytes', exporter: '', telegraf: '', note: "master_repl_offset − the replica's offset" },
  { ours: 'redis_keyspace.keys', exporter: 'redis_db_keys{db}', telegraf: 'redis_keyspace.keys', note: 'tag `db` (Telegraf: `database`)' },
  { ours: 'redis_keyspace.expires', exporter: 'redis_db_keys_expiring{db}', telegraf: 'redis_keyspace.expires', note: '' },
  {
    ours: 'redis_keyspace.avg_ttl',
    exporter: 'redis_db_avg_ttl_seconds{db}',
    telegraf: 'redis_keyspace.avg_ttl',
    note: "ours and Telegraf's in ms, the exporter's in seconds",
  },
  { ours: 'redis_cmdstat.calls', exporter: 'redis_commands_total{cmd}', telegraf: 'redis_cmdstat.calls', note: 'tag `command`' },
  {
    ours: 'redis_cmdstat.usec',
    exporter: 'redis_commands_duration_seconds_total{cmd}',
    telegraf: 'redis_cmdstat.usec',
    note: 'exporter in seconds',
  },
  {
    ours: 'redis_cmdstat.rejected_calls',
    exporter: 'redis_commands_rejected_calls_total{cmd}',
    telegraf: 'redis_cmdstat.rejected_calls',
    note: '',
  },
  {
    ours: 'redis_cmdstat.failed_calls',
    exporter: 'redis_commands_failed_calls_total{cmd}',
    telegraf: 'redis_cmdstat.failed_calls',
    note: '',
  },
  {
    ours: 'redis_latency.p99',
    exporter: 'redis_latency_percentiles_usec{cmd,quantile="99"}',
    telegraf: '',
    note: 'a summary in the exporter',
  },
  {
    ours: 'redis_errorstat.count',
    exporter: 'redis_errors_total{err}',
    telegraf: 'redis_errorstat.total',
    note: 'tag `error` (Telegraf and the exporter: `err`)',
  },
  {
    ours: 'redis_slowlog.duration_usec',
    exporter: 'redis_last_slow_execution_duration_seconds',
    telegraf: '',
    note: "ours one point per entry (command masked); the exporter's only the last one",
  },
  { ours: 'redis.maxclients', exporter: 'redis_config_maxclients', telegraf: '', note: '' },
];

/** Exporter metrics the capture cannot show (they appear only after the event they count). */
export const EXPORTER_NAMES_NOT_IN_CAPTURE = new Set(['redis_errors_total']);
