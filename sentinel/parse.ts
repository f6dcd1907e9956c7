// Sentinel replies and Pub/Sub messages as data. Message formats:
// https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/#pubsub-messages
export interface MasterView {
  name: string;
  address: string;
  flags: string[];
  configEpoch: number;
  downAfterMs: number;
  /** Replicas this Sentinel knows (num-slaves). */
  replicas: number;
  /** Other Sentinels this Sentinel knows (num-other-sentinels). */
  otherSentinels: number;
  quorum: number;
}

export interface SentinelEvent {
  timestampMs: number;
  channel: string;
  sentinel: string;
  payload: string;
  /** The instance the event is about ("ip:port"; for +switch-master the new master). */
  instance: string;
  masterName: string;
  attrs: Record<string, string>;
}

export function splitAddress(a: string): [string, number] {
  const i = a.lastIndexOf(':');
  return [a.slice(0, i), Number(a.slice(i + 1))];
}

/** A flat [k1, v1, k2, v2, ...] reply as a map. */
export function pairs(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}

const num = (v: string | undefined): number => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
};

/** `SENTINEL masters` → masters by name (entries without a name are skipped). */
export function parseMasters(reply: unknown): Map<string, MasterView> {
  const out = new Map<string, MasterView>();
  if (!Array.isArray(reply)) return out;
  for (const entry of reply) {
    const m = pairs(entry);
    if (!m.name) continue;
    out.set(m.name, {
      name: m.name,
      address: `${m.ip}:${m.port}`,
      flags: (m.flags ?? '').split(',').filter(Boolean),
      configEpoch: num(m['config-epoch']),
      downAfterMs: num(m['down-after-milliseconds']),
      replicas: num(m['num-slaves']),
      otherSentinels: num(m['num-other-sentinels']),
      quorum: num(m.quorum),
    });
  }
  return out;
}

/** `SENTINEL CKQUORUM` answers "+OK 3 usable Sentinels. ..." or an error "NOQUORUM ..." / "NOAUTH ...". */
export function parseCkquorum(reply: unknown): { reachable: boolean; detail: string } {
  const text = reply instanceof Error ? reply.message : String(reply ?? '');
  return { reachable: /^\+?OK\b/.test(text.trim()), detail: text.trim().replace(/^\+/, '') };
}

/**
 * "+sdown": `<type> <name> <ip> <port> @ <master-name> <master-ip> <master-port>`;
 * "+switch-master": `<master-name> <old-ip> <old-port> <new-ip> <new-port>`.
 */
export function parseSentinelMessage(channel: string, payload: string): Pick<SentinelEvent, 'instance' | 'masterName' | 'attrs'> {
  const w = payload.trim().split(/\s+/);
  if (channel === '+switch-master' && w.length >= 5) {
    return { instance: `${w[3]}:${w[4]}`, masterName: w[0]!, attrs: { master: w[0]!, old: `${w[1]}:${w[2]}`, new: `${w[3]}:${w[4]}` } };
  }
  if (w.length >= 4) {
    const at = w.indexOf('@');
    const masterName = w[0] === 'master' ? w[1]! : at >= 0 ? (w[at + 1] ?? '') : '';
    return { instance: `${w[2]}:${w[3]}`, masterName, attrs: { type: w[0]!, name: w[1]!, ...(masterName ? { master: masterName } : {}) } };
  }
  return { instance: '', masterName: '', attrs: {} };
}
