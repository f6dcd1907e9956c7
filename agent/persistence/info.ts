// INFO text → the typed fields the scheduler decides on. Pure.
import type { PersistenceInfo } from './types.js';

/** `field:value` lines of an INFO reply (any sections) into a map. */
export function parseInfoText(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

function int(m: Map<string, string>, k: string, dflt = 0): number {
  const v = m.get(k);
  if (v === undefined) return dflt;
  const n = Number(v);
  return Number.isFinite(n) ? n : dflt;
}

const flag = (m: Map<string, string>, k: string) => m.get(k) === '1';

/** `ip=127.0.0.1,port=6380,state=online,...` → its parts. */
function parseReplicaLine(v: string): { ip: string; port: number; state: string } {
  const kv = new Map(
    v.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i), p.slice(i + 1)] as [string, string];
    }),
  );
  return { ip: kv.get('ip') ?? '', port: Number(kv.get('port') ?? 0), state: kv.get('state') ?? '' };
}

export function persistenceInfo(m: Map<string, string>): PersistenceInfo {
  const replicas: PersistenceInfo['replicas'] = [];
  for (const [k, v] of m) if (/^slave\d+$/.test(k)) replicas.push(parseReplicaLine(v));
  return {
    runId: m.get('run_id') ?? '',
    processId: int(m, 'process_id'),
    configFile: m.get('config_file') ?? '',
    role: m.get('role') ?? '',
    loading: flag(m, 'loading'),
    asyncLoading: flag(m, 'async_loading'),
    masterSyncInProgress: flag(m, 'master_sync_in_progress'),
    masterHost: m.get('master_host') ?? '',
    masterPort: int(m, 'master_port'),
    masterLinkUp: m.get('master_link_status') === 'up',
    replicas,
    rdbBgsaveInProgress: flag(m, 'rdb_bgsave_in_progress'),
    aofRewriteInProgress: flag(m, 'aof_rewrite_in_progress'),
    moduleForkInProgress: flag(m, 'module_fork_in_progress'),
    aofRewriteScheduled: flag(m, 'aof_rewrite_scheduled'),
    rdbChangesSinceLastSave: int(m, 'rdb_changes_since_last_save'),
    rdbLastSaveTime: int(m, 'rdb_last_save_time'),
    rdbLastBgsaveStatus: m.get('rdb_last_bgsave_status') ?? 'ok',
    rdbLastBgsaveTimeSec: int(m, 'rdb_last_bgsave_time_sec', -1),
    rdbCurrentBgsaveTimeSec: int(m, 'rdb_current_bgsave_time_sec', -1),
    rdbSaves: int(m, 'rdb_saves', -1),
    rdbLastCowSize: int(m, 'rdb_last_cow_size'),
    moduleForkLastCowSize: int(m, 'module_fork_last_cow_size'),
    aofEnabled: flag(m, 'aof_enabled'),
    aofCurrentSize: int(m, 'aof_current_size'),
    aofBaseSize: int(m, 'aof_base_size'),
    aofLastRewriteTimeSec: int(m, 'aof_last_rewrite_time_sec', -1),
    aofCurrentRewriteTimeSec: int(m, 'aof_current_rewrite_time_sec', -1),
    aofLastBgrewriteStatus: m.get('aof_last_bgrewrite_status') ?? 'ok',
    aofRewrites: int(m, 'aof_rewrites', -1),
    aofLastCowSize: int(m, 'aof_last_cow_size'),
    currentCowSize: int(m, 'current_cow_size'),
    currentCowSizeAge: int(m, 'current_cow_size_age'),
    usedMemoryRss: int(m, 'used_memory_rss'),
    totalForks: int(m, 'total_forks'),
  };
}

export function parseInfo(text: string): PersistenceInfo {
  return persistenceInfo(parseInfoText(text));
}
