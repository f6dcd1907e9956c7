// Scheduler state → the report's PersistenceState message.
//
// Field keys: host-wide ones are plain (`forks_running`); per-instance ones are
// `<address>/<field>` (split at the LAST '/', the address never ends in one), e.g.
// `127.0.0.1:6379/last_fork_result`. Queue entries are `<kind>@<address>` in start order.
import { floatValue, intValue, strValue } from '../../proto/index.js';
import type { PersistenceState as ProtoPersistenceState, Value } from '../../proto/index.js';
import { formatSavePoints } from './policy.js';
import type { PersistenceState } from './types.js';

export function queueEntryName(e: { kind: string; address: string }): string {
  return `${e.kind}@${e.address}`;
}

export function persistenceStateToProto(state: PersistenceState): ProtoPersistenceState {
  const f: Record<string, Value> = {
    forks_running: intValue(state.forksRunning),
    mem_available_bytes: intValue(state.memAvailableBytes),
    queue_length: intValue(state.queue.length),
    loops: intValue(state.loops),
  };
  if (state.token) {
    f.token_kind = strValue(state.token.kind);
    f.token_origin = strValue(state.token.origin);
    f.token_since_ms = intValue(state.token.since);
    f.token_pending = intValue(state.token.pending ? 1 : 0);
  }
  for (const [address, s] of Object.entries(state.instances)) {
    const put = (name: string, v: Value) => {
      f[`${address}/${name}`] = v;
    };
    put('managed', intValue(s.managed ? 1 : 0));
    if (s.unmanagedReason) put('unmanaged_reason', strValue(s.unmanagedReason));
    put('up', intValue(s.up ? 1 : 0));
    if (s.error) put('error', strValue(s.error));
    put('policy_save', strValue(formatSavePoints(s.policy.savePoints)));
    put('policy_aof_rewrite_percentage', intValue(s.policy.aofRewritePercentage));
    put('policy_aof_rewrite_min_size', intValue(s.policy.aofRewriteMinSize));
    put('policy_rdb_backups', intValue(s.policy.rdbBackups ? 1 : 0));
    put('policy_source', strValue(s.policySource));
    put('cow_estimate_bytes', intValue(s.cowEstimateBytes));
    put('rdb_changes_since_last_save', intValue(s.rdbChangesSinceLastSave));
    put('rdb_last_save_ms', intValue(s.rdbLastSaveAt));
    if (s.aofGrowthPercent !== undefined) put('aof_growth_percent', floatValue(s.aofGrowthPercent));
    const queued = state.queue.filter((q) => q.address === address);
    if (queued.length) {
      put('queued', strValue(queued.map((q) => q.kind).join(',')));
      put('admission_blocked', intValue(queued.some((q) => q.waiting === 'admission') ? 1 : 0));
    }
    if (s.running) {
      put('running_kind', strValue(s.running.kind));
      put('running_origin', strValue(s.running.origin));
      put('running_since_ms', intValue(s.running.startedAt));
      put('running_cow_bytes', intValue(s.running.currentCowBytes));
    }
    if (s.lastFork) {
      put('last_fork_kind', strValue(s.lastFork.kind));
      put('last_fork_origin', strValue(s.lastFork.origin));
      put('last_fork_started_ms', intValue(s.lastFork.startedAt));
      put('last_fork_duration_ms', intValue(s.lastFork.durationMs));
      put('last_fork_cow_bytes', intValue(s.lastFork.cowBytes));
      put('last_fork_result', strValue(s.lastFork.result));
      if (s.lastFork.error) put('last_fork_error', strValue(s.lastFork.error));
    }
  }
  return { tokenHolder: state.tokenHolder, queue: state.queue.map(queueEntryName), fields: f };
}
