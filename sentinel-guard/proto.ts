// Guard view → the report's GuardState message. Same key convention as PersistenceState:
// host-wide keys are plain (`zk_consecutive_failures`), per-instance ones `<address>/<field>`.
import { intValue, strValue, type GuardState, type Value } from '../proto/index.js';
import type { GuardView } from './guard.js';

export function guardViewToProto(v: GuardView, eventsDropped = 0): GuardState {
  const f: Record<string, Value> = {
    zk_since_ms: intValue(v.zkSinceMs),
    zk_consecutive_failures: intValue(v.zkConsecutiveFailures),
    zk_last_ok_ms: intValue(v.zkLastOkMs),
    zk_clients_created: intValue(v.zkClientsCreated),
    zk_workers_started: intValue(v.zkWorkersStarted),
    sentinels_total: intValue(v.sentinelsTotal),
    mode: strValue(v.mode),
    loops: intValue(v.loops),
    budget_worst_case_ms: intValue(v.budgetWorstCaseMs),
    budget_limit_ms: intValue(v.budgetLimitMs),
  };
  if (v.zkLastError) f.zk_last_error = strValue(v.zkLastError);
  if (v.zkLastWorkerError) f.zk_last_worker_error = strValue(v.zkLastWorkerError);
  if (v.sentinelsAnswered !== null) f.sentinels_answered = intValue(v.sentinelsAnswered);
  if (v.sentinelRoundAtMs) f.sentinel_round_ms = intValue(v.sentinelRoundAtMs);
  if (v.budgetViolation) f.budget_violation = strValue(v.budgetViolation);
  if (eventsDropped) f.events_dropped = intValue(eventsDropped);
  for (const i of v.instances) {
    const put = (name: string, val: Value) => {
      f[`${i.address}/${name}`] = val;
    };
    put('phase', strValue(i.phase));
    put('seen_role', strValue(i.role));
    put('fenced', intValue(i.fenced ? 1 : 0));
    if (i.fencedSinceMs) put('fenced_since_ms', intValue(i.fencedSinceMs));
    if (i.fenceReason) put('fence_reason', strValue(i.fenceReason));
    if (i.fenceMode) put('fence_mode', strValue(i.fenceMode));
    if (i.sentinelName) put('sentinel_name', strValue(i.sentinelName));
    if (i.sentinelMaster) put('sentinel_master', strValue(i.sentinelMaster));
    if (i.zkMaster) put('zk_master', strValue(i.zkMaster));
    if (i.waitingFor) put('waiting_for', strValue(i.waitingFor));
    if (i.error) put('error', strValue(i.error));
  }
  return { zkState: v.zkState, fields: f };
}
