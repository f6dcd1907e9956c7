// The `fields` convention of the PersistenceState and GuardState messages, shared by the agent that
// writes them and the collector that reads them: host-wide keys are plain (`forks_running`), per-instance keys are
// `<address>/<field>`, split at the LAST '/' (an address never ends in one). Queue entries are
// `<kind>@<address>`, in start order.
import type { Value } from './types.js';

export interface InstanceFields {
  host: Record<string, Value>;
  /** address → its fields (names without the address). */
  instances: Map<string, Record<string, Value>>;
}

export function splitInstanceFields(state: { fields?: Record<string, Value> }): InstanceFields {
  const out: InstanceFields = { host: {}, instances: new Map() };
  for (const [key, value] of Object.entries(state.fields ?? {})) {
    const slash = key.lastIndexOf('/');
    if (slash < 0) {
      out.host[key] = value;
      continue;
    }
    const address = key.slice(0, slash);
    let f = out.instances.get(address);
    if (!f) out.instances.set(address, (f = {}));
    f[key.slice(slash + 1)] = value;
  }
  return out;
}

/** `rdb@127.0.0.1:6379` → {kind, address}. */
export function parseQueueEntry(entry: string): { kind: string; address: string } {
  const at = entry.indexOf('@');
  return at < 0 ? { kind: '', address: entry } : { kind: entry.slice(0, at), address: entry.slice(at + 1) };
}
