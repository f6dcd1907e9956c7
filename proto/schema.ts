// The one source of truth for the stored metric schema: every measurement the
// collector writes (to InfluxDB or to the embedded store), its tags, and each
// field's pinned type. Writers coerce to these types, so InfluxDB never sees a
// field change type (the Telegraf #1929 / #5957 failure). docs/schema.md is
// generated from this file (npm run schema-doc) and test/schema.test.ts keeps
// them in step.

export type FieldType = 'int' | 'float' | 'string';

export interface FieldDef {
  type: FieldType;
  doc: string;
}

export interface MeasurementDef {
  name: string;
  doc: string;
  tags: string[];
  fields: Record<string, FieldDef>;
  /**
   * Fields not listed here but present in the source: 'float' writes any other
   * numeric value as a float (never int: "1" vs "0.81" must not flip the type),
   * 'drop' ignores them.
   */
  otherNumericFields: 'float' | 'drop';
}

const i = (doc: string): FieldDef => ({ type: 'int', doc });
const f = (doc: string): FieldDef => ({ type: 'float', doc });
const s = (doc: string): FieldDef => ({ type: 'string', doc });

/** Tags every host-scoped measurement carries. */
export const HOST_TAGS = ['host', 'idc', 'city', 'env', 'module'] as const;
/** Tags every Redis-instance measurement carries. */
export const INSTANCE_TAGS = [...HOST_TAGS, 'instance', 'role', 'cluster', 'group'] as const;

/** Tags every proxy measurement carries: the host's, the proxy's polled address and its name. */
export const PROXY_TAGS = [...HOST_TAGS, 'proxy', 'name'] as const;

/** Tags every codis-dashboard measurement carries: the host's, the dashboard's polled address and its product. */
export const DASHBOARD_TAGS = [...HOST_TAGS, 'dashboard', 'product'] as const;

const many =
  (mk: (doc: string) => FieldDef) =>
  (names: readonly string[], doc: string): Record<string, FieldDef> =>
    Object.fromEntries(names.map((n) => [n, mk(doc)]));
const ints = many(i);
const floats = many(f);
const strings = many(s);
/** A cumulative counter (int) and its rate (float, `<name>_per_sec`). */
const counters = (names: readonly string[]): Record<string, FieldDef> => ({
  ...ints(names, 'cumulative counter'),
  ...floats(
    names.map((n) => `${n}_per_sec`),
    'rate between two reads',
  ),
});
const TWEM_SERVER_COUNTERS = ['server_eof', 'server_err', 'server_timedout', 'requests', 'request_bytes', 'responses', 'response_bytes'];
const TWEM_GAUGES = ['server_connections', 'in_queue', 'in_queue_bytes', 'out_queue', 'out_queue_bytes'];

// INFO fields that are integers in every Redis version we know. Anything numeric
// not listed (ratios, percentages, kbps, cpu seconds, new fields) is written as float.
export const INFO_INT_FIELDS = [
  // server
  'uptime_in_seconds',
  'uptime_in_days',
  'hz',
  'configured_hz',
  'lru_clock',
  'process_id',
  'tcp_port',
  'arch_bits',
  'io_threads_active',
  // clients
  'connected_clients',
  'cluster_connections',
  'maxclients',
  'client_recent_max_input_buffer',
  'client_recent_max_output_buffer',
  'blocked_clients',
  'tracking_clients',
  'clients_in_timeout_table',
  'pubsub_clients',
  'watching_clients',
  'total_blocking_keys',
  // memory
  'used_memory',
  'used_memory_rss',
  'used_memory_peak',
  'used_memory_overhead',
  'used_memory_startup',
  'used_memory_dataset',
  'allocator_allocated',
  'allocator_active',
  'allocator_resident',
  'total_system_memory',
  'used_memory_lua',
  'used_memory_vm_eval',
  'used_memory_scripts_eval',
  'number_of_cached_scripts',
  'number_of_functions',
  'number_of_libraries',
  'used_memory_vm_functions',
  'used_memory_vm_total',
  'used_memory_functions',
  'used_memory_scripts',
  'maxmemory',
  'allocator_frag_bytes',
  'allocator_rss_bytes',
  'rss_overhead_bytes',
  'mem_fragmentation_bytes',
  'mem_not_counted_for_evict',
  'mem_replication_backlog',
  'mem_total_replication_buffers',
  'mem_clients_slaves',
  'mem_clients_normal',
  'mem_cluster_links',
  'mem_aof_buffer',
  'active_defrag_running',
  'lazyfree_pending_objects',
  'lazyfreed_objects',
  // persistence
  'loading',
  'async_loading',
  'current_cow_peak',
  'current_cow_size',
  'current_cow_size_age',
  'current_save_keys_processed',
  'current_save_keys_total',
  'rdb_changes_since_last_save',
  'rdb_bgsave_in_progress',
  'rdb_last_save_time',
  'rdb_last_bgsave_time_sec',
  'rdb_current_bgsave_time_sec',
  'rdb_saves',
  'rdb_last_cow_size',
  'rdb_last_load_keys_expired',
  'rdb_last_load_keys_loaded',
  'aof_enabled',
  'aof_rewrite_in_progress',
  'aof_rewrite_scheduled',
  'aof_last_rewrite_time_sec',
  'aof_current_rewrite_time_sec',
  'aof_rewrites',
  'aof_rewrites_consecutive_failures',
  'aof_last_cow_size',
  'module_fork_in_progress',
  'module_fork_last_cow_size',
  'aof_current_size',
  'aof_base_size',
  'aof_pending_rewrite',
  'aof_buffer_length',
  'aof_pending_bio_fsync',
  'aof_delayed_fsync',
  'loading_start_time',
  'loading_total_bytes',
  'loading_rdb_used_mem',
  'loading_loaded_bytes',
  'loading_eta_seconds',
  // stats
  'total_connections_received',
  'total_commands_processed',
  'instantaneous_ops_per_sec',
  'total_net_input_bytes',
  'total_net_output_bytes',
  'total_net_repl_input_bytes',
  'total_net_repl_output_bytes',
  'rejected_connections',
  'sync_full',
  'sync_partial_ok',
  'sync_partial_err',
  'expired_keys',
  'expired_time_cap_reached_count',
  'expire_cycle_cpu_milliseconds',
  'evicted_keys',
  'evicted_clients',
  'total_eviction_exceeded_time',
  'current_eviction_exceeded_time',
  'keyspace_hits',
  'keyspace_misses',
  'pubsub_channels',
  'pubsub_patterns',
  'pubsubshard_channels',
  'latest_fork_usec',
  'total_forks',
  'migrate_cached_sockets',
  'slave_expires_tracked_keys',
  'active_defrag_hits',
  'active_defrag_misses',
  'active_defrag_key_hits',
  'active_defrag_key_misses',
  'total_active_defrag_time',
  'current_active_defrag_time',
  'tracking_total_keys',
  'tracking_total_items',
  'tracking_total_prefixes',
  'unexpected_error_replies',
  'total_error_replies',
  'dump_payload_sanitizations',
  'total_reads_processed',
  'total_writes_processed',
  'io_threaded_reads_processed',
  'io_threaded_writes_processed',
  'reply_buffer_shrinks',
  'reply_buffer_expands',
  // replication
  'connected_slaves',
  'master_repl_offset',
  'second_repl_offset',
  'repl_backlog_active',
  'repl_backlog_size',
  'repl_backlog_first_byte_offset',
  'repl_backlog_histlen',
  'master_port',
  'master_last_io_seconds_ago',
  'master_sync_in_progress',
  'slave_read_repl_offset',
  'slave_repl_offset',
  'slave_priority',
  'replica_priority',
  'slave_read_only',
  'replica_read_only',
  'replica_announced',
  'master_link_down_since_seconds',
  'master_sync_total_bytes',
  'master_sync_read_bytes',
  'master_sync_left_bytes',
  'master_sync_perc',
  'master_sync_last_io_seconds_ago',
  'min_slaves_good_slaves',
  // cluster
  'cluster_enabled',
] as const;

// INFO string fields worth keeping (others, like run_id or executable, are dropped).
// `role` is not here: it is a tag.
export const INFO_STRING_FIELDS = [
  'redis_version',
  'redis_mode',
  'os',
  'maxmemory_policy',
  'rdb_last_bgsave_status',
  'aof_last_bgrewrite_status',
  'aof_last_write_status',
  'master_link_status',
  'master_host',
  'master_failover_state',
  'mem_allocator',
  'config_file',
] as const;

const INFO_FLOAT_DOCS: Record<string, string> = {
  mem_fragmentation_ratio: 'used_memory_rss / used_memory',
  used_cpu_sys: 'system CPU seconds of the server (cumulative)',
  used_cpu_user: 'user CPU seconds of the server (cumulative)',
  instantaneous_input_kbps: "Redis's own input kbps estimate",
  instantaneous_output_kbps: "Redis's own output kbps estimate",
};

function infoFields(): Record<string, FieldDef> {
  const out: Record<string, FieldDef> = {};
  for (const n of INFO_INT_FIELDS) out[n] = i('INFO field');
  for (const n of INFO_STRING_FIELDS) out[n] = s('INFO field');
  for (const [n, d] of Object.entries(INFO_FLOAT_DOCS)) out[n] = f(d);
  return out;
}

export const MEASUREMENTS: Record<string, MeasurementDef> = {
  host: {
    name: 'host',
    doc: "One point per agent report: host metrics, capacity summary and the agent's own health.",
    tags: [...HOST_TAGS],
    otherNumericFields: 'drop',
    fields: {
      cpu_percent: f('CPU busy %, all cores, over the last interval'),
      cpu_cores: i('logical CPUs'),
      load1: f('1-minute load average'),
      load5: f('5-minute load average'),
      load15: f('15-minute load average'),
      mem_total_bytes: i('MemTotal'),
      mem_available_bytes: i('MemAvailable'),
      swap_total_bytes: i('SwapTotal'),
      swap_used_bytes: i('SwapTotal - SwapFree'),
      disk_total_bytes: i('size of the data volume'),
      disk_free_bytes: i('free bytes on the data volume (available to unprivileged users)'),
      disk_read_bytes_per_sec: f("reads on the data volume's block device"),
      disk_write_bytes_per_sec: f("writes on the data volume's block device"),
      net_rx_bytes_per_sec: f('bytes received on the main interface'),
      net_tx_bytes_per_sec: f('bytes sent on the main interface'),
      instance_slots: i('configured instance slots'),
      running_instances: i('Redis instances answering'),
      maxmemory_reserved_bytes: i('sum of maxmemory of running instances'),
      idle_instances: i('provisioned instances with no keys and no cluster'),
      agent_buffered_reports: i("reports waiting in the agent's buffer"),
      agent_dropped_reports: i("reports dropped from the agent's full buffer since it started"),
      agent_tick_cpu_ms: f('agent CPU time spent on the last tick'),
      agent_rss_bytes: i('agent resident memory'),
    },
  },
  redis: {
    name: 'redis',
    doc: 'One point per instance per tick: every scalar INFO ALL field plus derived values. Counters are raw; rates are precomputed by the agent.',
    tags: [...INSTANCE_TAGS],
    otherNumericFields: 'float',
    fields: {
      up: i('1 when the instance answered INFO, else 0'),
      error: s('why the instance is not up (empty when up)'),
      ...infoFields(),
      maxmemory: i('maxmemory in bytes (CONFIG GET when allowed, else INFO); 0 = no limit'),
      maxclients: i('maxclients (CONFIG GET when allowed, else INFO)'),
      ops_per_sec: f('commands/s over the last interval, from total_commands_processed'),
      net_input_bytes_per_sec: f('from total_net_input_bytes'),
      net_output_bytes_per_sec: f('from total_net_output_bytes'),
      keyspace_hit_ratio: f('hits / (hits + misses) over the last interval; -1 without lookups'),
      evicted_keys_per_sec: f('from evicted_keys'),
      expired_keys_per_sec: f('from expired_keys'),
      rejected_connections_per_sec: f('from rejected_connections'),
      headroom_used_bytes: i('used_memory'),
      headroom_limit_bytes: i("maxmemory, or the host's memory when maxmemory is 0"),
      headroom_limit_source: s('maxmemory | host_memory'),
      headroom_used_ratio: f('headroom_used_bytes / headroom_limit_bytes'),
      unavailable: s('comma-separated sources Redis refused (CONFIG, SLOWLOG, LATENCY, ...)'),
    },
  },
  redis_replica: {
    name: 'redis_replica',
    doc: 'On a master, one point per connected replica (INFO replication slaveN lines).',
    tags: [...INSTANCE_TAGS, 'replica', 'state'],
    otherNumericFields: 'drop',
    fields: {
      offset: i("replica's acknowledged offset"),
      lag_seconds: i("seconds since the replica's last ack"),
      lag_bytes: i('master_repl_offset - offset'),
    },
  },
  redis_keyspace: {
    name: 'redis_keyspace',
    doc: 'One point per database with keys.',
    tags: [...INSTANCE_TAGS, 'db'],
    otherNumericFields: 'drop',
    fields: { keys: i('keys'), expires: i('keys with a TTL'), avg_ttl: i('average TTL in ms') },
  },
  redis_cmdstat: {
    name: 'redis_cmdstat',
    doc: 'One point per command in INFO commandstats (raw counters).',
    tags: [...INSTANCE_TAGS, 'command'],
    otherNumericFields: 'drop',
    fields: {
      calls: i('calls'),
      usec: i('total microseconds'),
      usec_per_call: f('average microseconds per call'),
      rejected_calls: i('calls rejected before execution'),
      failed_calls: i('calls that failed during execution'),
    },
  },
  redis_latency: {
    name: 'redis_latency',
    doc: 'Per-command latency percentiles from INFO latencystats (Redis 7+), microseconds.',
    tags: [...INSTANCE_TAGS, 'command'],
    otherNumericFields: 'drop',
    fields: { p50: f('p50 µs'), p99: f('p99 µs'), p99_9: f('p99.9 µs') },
  },
  redis_errorstat: {
    name: 'redis_errorstat',
    doc: 'Error replies by error prefix (INFO errorstats).',
    tags: [...INSTANCE_TAGS, 'error'],
    otherNumericFields: 'drop',
    fields: { count: i('error replies since start') },
  },
  redis_slowlog: {
    name: 'redis_slowlog',
    doc: "One point per SLOWLOG entry, reported once. Time is the entry's own time (+ id ns, so two entries in one second do not collide).",
    tags: [...INSTANCE_TAGS, 'command_name'],
    otherNumericFields: 'drop',
    fields: {
      id: i('slowlog id'),
      duration_usec: i('execution time'),
      command: s('command with arguments, truncated, secrets masked'),
      client: s('client address'),
      client_name: s('client name'),
    },
  },
  event: {
    name: 'event',
    doc: 'Discrete events from agents (instance down/up, forks, fences, Sentinel events).',
    tags: [...HOST_TAGS, 'kind', 'instance'],
    otherNumericFields: 'drop',
    fields: {
      message: s('human-readable text'),
      attrs: s('JSON object of extra attributes'),
      count: i('always 1: numeric-only engines (VictoriaMetrics: `event_count`) store the event through it'),
    },
  },
  persistence: {
    name: 'persistence',
    doc: 'Persistence scheduler (agent `persistence.enabled`): one point per instance per report. Fork start/end, takeover and unmanaged are `event` points (kind fork.start, fork.end, persistence.takeover, persistence.unmanaged, ...).',
    tags: [...INSTANCE_TAGS],
    otherNumericFields: 'drop',
    fields: {
      management: s('managed | unmanaged | opt-out'),
      managed: i("1 when the scheduler holds this instance's save / AOF-rewrite triggers"),
      unmanaged_reason: s("why not managed: opt-out, or Redis's refusal of CONFIG GET/SET"),
      up: i("1 when the scheduler's connection answered INFO"),
      error: s("the scheduler's last error talking to the instance"),
      token: i("1 when this instance's child (or pending fork) holds the host's fork token"),
      running: i('1 while a fork child runs on this instance'),
      running_kind: s('rdb | aof | module | unknown'),
      running_origin: s('agent | foreign (replica sync, operator BGSAVE, appendonly yes, ...)'),
      running_since_ms: i('when the running child started (unix ms)'),
      running_cow_bytes: i('current_cow_size of the running child'),
      queue_position: i("1-based position in the host's fork queue, 0 when not queued"),
      queued: s('queued job kinds, comma-separated (rdb, aof)'),
      admission_blocked: i('1 when a queued job waits for memory admission'),
      cow_estimate_bytes: i('estimated copy-on-write of the next RDB save'),
      policy_save: s('the save points the scheduler applies (Redis `save` syntax)'),
      policy_aof_rewrite_percentage: i('AOF growth % that triggers a rewrite (0 = none)'),
      policy_aof_rewrite_min_size: i('AOF size below which no rewrite is started'),
      policy_rdb_backups: i('1 when the instance takes part in max-age and cron backups'),
      policy_source: s('instance | recorded | observed-off'),
      rdb_changes_since_last_save: i('writes since the last save'),
      rdb_last_save_ms: i('last successful save (unix ms)'),
      aof_growth_percent: f('aof_current_size / aof_base_size - 1, in %'),
      last_fork_kind: s('rdb | aof | module | unknown'),
      last_fork_origin: s('agent | foreign'),
      last_fork_started_ms: i('when the last finished child started (unix ms)'),
      last_fork_duration_ms: i('how long it ran'),
      last_fork_cow_bytes: i('its copy-on-write (rdb_last_cow_size / aof_last_cow_size)'),
      last_fork_result: s('ok | error | killed'),
      last_fork_error: s("Redis's own words when it failed"),
    },
  },
  guard: {
    name: 'guard',
    doc: 'sentinel-guard (agent `guard.enabled`): one point per guarded instance per report. Fences, restores and ZooKeeper/Sentinel changes are `event` points (kind guard.fenced, guard.unfenced, guard.demoted, guard.failsafe, guard.zk_unreachable, guard.zk_reachable, guard.fence_failed, guard.budget_violation, sentinel.+switch-master, sentinel.+sdown, ...).',
    tags: [...INSTANCE_TAGS],
    otherNumericFields: 'drop',
    fields: {
      phase: s('serving | failsafe (ZooKeeper down, Sentinel majority confirms) | fenced | demoting | replica | down | opt-out'),
      seen_role: s('master | slave | unknown, as the guard last saw it (ROLE)'),
      fenced: i('1 while the guard holds a fence on this instance'),
      fenced_since_ms: i('when the fence was applied (unix ms)'),
      fence_reason: s('why it was fenced'),
      fence_mode: s('acl | replicaof'),
      sentinel_name: s("the Sentinel master name of this instance's group"),
      sentinel_master: s('the master the Sentinel majority names (highest config epoch), while restoring'),
      zk_master: s('the master ZooKeeper names (Codis group or configured znode), while restoring'),
      waiting_for: s('what keeps a fenced instance fenced'),
      error: s("the guard's last error on this instance"),
      zk_state: s("unknown | reachable | unreachable (host-wide, by the guard's own probe)"),
      zk_consecutive_failures: i('ZooKeeper probes failed in a row'),
      sentinels_answered: i('Sentinels that answered the last round in time'),
      sentinels_total: i('Sentinels configured'),
    },
  },
  codis_proxy: {
    name: 'codis_proxy',
    doc: "One codis-proxy per report (agent `proxies[]` kind codis), from its admin HTTP API. Counters are codis's own; `*_per_sec` are computed by the agent.",
    tags: [...PROXY_TAGS],
    otherNumericFields: 'drop',
    fields: {
      up: i('1 when the admin API answered'),
      error: s('why the poll failed'),
      online: i('1 when the proxy is online'),
      closed: i('1 when the proxy is closed'),
      ...ints(
        [
          'ops_total',
          'ops_fails',
          'ops_redis_errors',
          'ops_qps',
          'sessions_total',
          'sessions_alive',
          'proxy_max_clients',
          'rusage_mem',
          'rusage_threads',
          'rusage_cpu_time_ms',
          'sentinels_switched',
          'sentinels_servers',
          'primary_only',
          'runtime_gc_num',
          'runtime_gc_total_pausems',
          'runtime_num_procs',
          'runtime_num_goroutines',
          'runtime_num_cgo_call',
          'runtime_num_mem_offheap',
          'runtime_heap_alloc',
          'runtime_heap_inuse',
          'pid',
          'slots_total',
          'slots_assigned',
          'slots_unassigned',
          'slots_locked',
          'slots_migrating',
          'groups',
          'rates_valid',
          'counters_reset',
        ],
        'codis-proxy value',
      ),
      sessions_ratio: f('sessions_alive / proxy_max_clients'),
      rusage_cpu: f('cores busy over ~1 s'),
      ...floats(['ops_per_sec', 'fails_per_sec', 'redis_errors_per_sec', 'sessions_per_sec'], 'rate between two polls'),
      ...strings(['token', 'start_time', 'product_name', 'proxy_addr', 'hostname', 'version'], 'codis-proxy model value'),
      state: s('online | offline (clients get "ERR router is not online") | closed'),
      misconfigured: i('1 when the proxy answers but refuses our product auth or serves another product'),
      misconfigured_reason: s('why the proxy is misconfigured (auth rejected, product mismatch)'),
    },
  },
  codis_proxy_cmd: {
    name: 'codis_proxy_cmd',
    doc: 'Per command of a codis-proxy (its cmd stats).',
    tags: [...PROXY_TAGS, 'command'],
    otherNumericFields: 'drop',
    fields: {
      ...ints(['calls', 'usec', 'fails', 'redis_errors'], 'cumulative since the proxy started'),
      usec_per_call: f('cumulative average'),
      ...floats(['calls_per_sec', 'fails_per_sec', 'redis_errors_per_sec', 'interval_usec_per_call'], 'between two polls'),
    },
  },
  codis_proxy_group: {
    name: 'codis_proxy_group',
    doc: 'Per Codis group as the proxy routes it (slot table): the master it sends to, and the one its Sentinels name.',
    tags: [...PROXY_TAGS, 'group'],
    otherNumericFields: 'drop',
    fields: {
      master: s("the address most of the group's slots route to"),
      sentinel_master: s("the master the proxy's Sentinels report"),
      sentinel_agrees: i('1 when master = sentinel_master'),
      ...ints(['slots', 'addresses', 'migrating_in', 'migrating_out', 'replicas'], 'slot table value'),
    },
  },
  codis_dashboard: {
    name: 'codis_dashboard',
    doc: 'One codis-dashboard (topom) per report (agent `dashboards[]`): the product as the dashboard sees it, from one `GET /topom`.',
    tags: [...DASHBOARD_TAGS],
    otherNumericFields: 'drop',
    fields: {
      up: i('1 when the admin API answered'),
      error: s('why the poll failed'),
      misconfigured: i('1 when the dashboard answers but serves another product or is not online (no product lock)'),
      misconfigured_reason: s('why the dashboard is misconfigured'),
      closed: i('1 when the dashboard is closed'),
      ...ints(
        [
          'groups',
          'groups_out_of_sync',
          'groups_promoting',
          'servers',
          'servers_unreachable',
          'sentinels',
          'sentinels_unreachable',
          'sentinels_out_of_sync',
          'proxies',
          'proxies_online',
          'proxies_offline',
          'proxies_closed',
          'proxies_unreachable',
          'slots_assigned',
          'slots_unassigned',
        ],
        'count as the dashboard reports it',
      ),
      ...ints(
        ['migration_pending', 'migration_preparing', 'migration_prepared', 'migration_migrating', 'migration_finished', 'migration_queue'],
        'slots per migration state (the queue; migration_queue = all of them)',
      ),
      migration_disabled: i('1 when slot actions are disabled'),
      migration_interval_us: i('pause between migration steps (µs)'),
      migration_progress: s('the dashboard\'s last progress line ("[OK] Slot[0622]@DB[0]=1")'),
      migration_stalled_seconds: f('seconds the non-empty migration queue has not changed (0 when empty or moving)'),
      ...strings(['version', 'token', 'start_time'], 'dashboard model value'),
    },
  },
  codis_dashboard_group: {
    name: 'codis_dashboard_group',
    doc: 'Per Codis group as the dashboard stores it.',
    tags: [...DASHBOARD_TAGS, 'group'],
    otherNumericFields: 'drop',
    fields: {
      out_of_sync: i('1 when the stored group differs from what proxies and servers were told (after a failover; cleared by group resync)'),
      promoting: i('1 while a promotion is in progress'),
      promoting_state: s('preparing | prepared | finished'),
      master: s("servers[0], the dashboard's master"),
      ...ints(
        ['servers', 'servers_unreachable', 'slots', 'sync_pending', 'sync_syncing', 'sync_failed'],
        'group value (sync_*: servers per replication-sync action state)',
      ),
    },
  },
  codis_dashboard_server: {
    name: 'codis_dashboard_server',
    doc: 'Per group server as the dashboard reaches it (its INFO poll every second).',
    tags: [...DASHBOARD_TAGS, 'group', 'server'],
    otherNumericFields: 'drop',
    fields: {
      up: i("1 when the dashboard's last INFO of the server worked"),
      timeout: i('1 when the dashboard timed out on it'),
      error: s("the dashboard's error for this server"),
      is_master: i('1 for servers[0]'),
      ...strings(['info_role', 'master_addr', 'master_link_status', 'sync_action'], 'server value as the dashboard reports it'),
    },
  },
  codis_dashboard_sentinel: {
    name: 'codis_dashboard_sentinel',
    doc: 'Per Sentinel the dashboard is configured with.',
    tags: [...DASHBOARD_TAGS, 'sentinel'],
    otherNumericFields: 'drop',
    fields: {
      up: i("1 when the dashboard's last poll of the Sentinel worked"),
      timeout: i('1 when the dashboard timed out on it'),
      error: s("the dashboard's error for this Sentinel"),
      masters: i('product masters it monitors'),
    },
  },
  codis_dashboard_proxy: {
    name: 'codis_dashboard_proxy',
    doc: "Per codis-proxy as the dashboard sees it (`proxy` = the proxy's admin address).",
    tags: [...DASHBOARD_TAGS, 'proxy'],
    otherNumericFields: 'drop',
    fields: {
      state: s('online | offline | closed | error | timeout | missing'),
      up: i('1 when the dashboard reached the proxy'),
      online: i('1 when online'),
      error: s("the dashboard's error for this proxy"),
      ...ints(['sessions_alive', 'ops_qps', 'ops_fails'], "proxy value from the dashboard's poll"),
      ...strings(['token', 'proxy_addr'], 'proxy model value'),
    },
  },
  twemproxy: {
    name: 'twemproxy',
    doc: "One twemproxy (nutcracker) per fresh stats read (agent `proxies[]` kind twemproxy); the stats port is read no faster than the proxy's stats interval.",
    tags: [...PROXY_TAGS],
    otherNumericFields: 'drop',
    fields: {
      up: i('1 when the stats port answered'),
      error: s('why the read failed'),
      ...strings(['source', 'version'], 'nutcracker value'),
      ...ints(
        [
          'uptime',
          'timestamp',
          'total_connections',
          'curr_connections',
          'pools',
          'servers',
          'servers_ejected',
          'rates_valid',
          'counters_reset',
        ],
        'nutcracker value',
      ),
      ...floats(
        [
          'connections_per_sec',
          'requests_per_sec',
          'request_bytes_per_sec',
          'responses_per_sec',
          'response_bytes_per_sec',
          'errors_per_sec',
          'server_ejects_per_sec',
        ],
        'proxy-wide rate between two reads',
      ),
    },
  },
  twemproxy_pool: {
    name: 'twemproxy_pool',
    doc: "Per twemproxy pool: its own counters plus its servers' counters summed; `<counter>_per_sec` for every counter.",
    tags: [...PROXY_TAGS, 'pool'],
    otherNumericFields: 'drop',
    fields: {
      ...counters([...TWEM_SERVER_COUNTERS, 'client_eof', 'client_err', 'server_ejects', 'forward_error', 'fragments']),
      ...ints([...TWEM_GAUGES, 'client_connections', 'servers', 'servers_ejected'], 'gauge'),
      errors_per_sec: f('client_err + forward_error + server_err + server_timedout per second'),
    },
  },
  twemproxy_server: {
    name: 'twemproxy_server',
    doc: 'Per twemproxy backend server. `ejected` is 1 while the server is out of the ring (with the proxy config) or since its first ejection (without).',
    tags: [...PROXY_TAGS, 'pool', 'server'],
    otherNumericFields: 'drop',
    fields: {
      ...counters(TWEM_SERVER_COUNTERS),
      ...ints(TWEM_GAUGES, 'gauge'),
      ejected: i('1 when ejected'),
      ejected_at_ms: i('last ejection (unix ms), 0 = never'),
      newly_ejected: i('1 when ejected since the previous read'),
      address: s('backend address (from the proxy config)'),
      errors_per_sec: f('server_err + server_timedout per second'),
    },
  },
  sentinel: {
    name: 'sentinel',
    doc: "One Sentinel per report (agent `sentinels[]`, discovered, or the guard's): INFO sentinel and SENTINEL masters. Sentinel's own events are `event` points (kind sentinel.+switch-master, sentinel.+sdown, sentinel.+odown, sentinel.+failover-end, sentinel.-failover-abort-*, sentinel.+tilt, ...).",
    tags: [...HOST_TAGS, 'sentinel'],
    otherNumericFields: 'drop',
    fields: {
      up: i('1 when the Sentinel answered in time'),
      error: s('why it did not'),
      tilt: i('1 while the Sentinel is in TILT mode'),
      discovered: i('1 when found on the host rather than configured'),
      masters: i('masters it monitors'),
    },
  },
  sentinel_master: {
    name: 'sentinel_master',
    doc: 'Per master a Sentinel monitors, as that Sentinel sees it (SENTINEL masters, SENTINEL CKQUORUM).',
    tags: [...HOST_TAGS, 'sentinel', 'master_name'],
    otherNumericFields: 'drop',
    fields: {
      master: s('the master address this Sentinel names'),
      flags: s('comma-separated flags (master, s_down, o_down, failover_in_progress, ...)'),
      down: i('1 when flagged s_down or o_down'),
      failover_in_progress: i('1 while a failover runs'),
      replicas: i('replicas known (num-slaves)'),
      sentinels: i('Sentinels known, this one included'),
      quorum: i('configured quorum'),
      quorum_reachable: i('1 when SENTINEL CKQUORUM says the quorum and a majority are reachable'),
      quorum_detail: s("CKQUORUM's own words"),
      config_epoch: i('config epoch of the master'),
    },
  },
  redis_repl_offset: {
    name: 'redis_repl_offset',
    doc: 'Computed by the collector: per master and replica sharing a master_replid (sampled by any agents), the difference of their replication offsets, written when either side reports.',
    tags: ['cluster', 'group', 'master', 'replica'],
    otherNumericFields: 'drop',
    fields: {
      master_offset: i("the master's master_repl_offset"),
      replica_offset: i("the replica's slave_repl_offset"),
      diff_bytes: i('master_offset - replica_offset: how far the replica is behind, in bytes'),
      sample_gap_ms: i('time between the two samples compared'),
    },
  },
};

export function measurement(name: string): MeasurementDef {
  const m = MEASUREMENTS[name];
  if (!m) throw new Error(`unknown measurement ${name}`);
  return m;
}

/**
 * The fields the console's charts ask, per measurement (collector/console/charts.ts): the embedded
 * store keeps a copy of their 5-minute rollups beside the whole row, so a chart does not decode
 * (inflate + JSON) the ~180 values of each row for 3 or 4 of them (docs/benchmarks.md, "24 h
 * chart queries").
 */
export const CHART_FIELDS: Readonly<Record<string, readonly string[]>> = {
  redis: ['ops_per_sec', 'used_memory', 'maxmemory', 'connected_clients'],
  redis_repl_offset: ['diff_bytes'],
  host: ['cpu_percent', 'load1', 'mem_total_bytes', 'mem_available_bytes'],
};
