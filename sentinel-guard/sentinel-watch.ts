// Subscribes to every configured Sentinel's event channels and turns each message into a guard
// event `sentinel.<channel>`. Events every Sentinel publishes alike (+switch-master, ...) are
// reported once per payload; per-observer events (+sdown, +tilt, ...) keep which Sentinel saw them.
import { Redis } from 'ioredis';
import { splitAddress } from './sentinels.js';

export const SENTINEL_CHANNELS = ['+switch-master', '+sdown', '-sdown', '+odown', '-odown', '+failover-end', '+convert-to-slave', '+tilt', '-tilt'] as const;
const SHARED = new Set(['+switch-master', '+failover-end', '+convert-to-slave']);
const DEDUPE_MS = 60_000;

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
    const masterName = w[0] === 'master' ? w[1]! : at >= 0 ? w[at + 1] ?? '' : '';
    return { instance: `${w[2]}:${w[3]}`, masterName, attrs: { type: w[0]!, name: w[1]!, ...(masterName ? { master: masterName } : {}) } };
  }
  return { instance: '', masterName: '', attrs: {} };
}

export class SentinelWatch {
  private readonly subs: Redis[] = [];
  private readonly recent = new Map<string, number>();

  constructor(private readonly addresses: string[], private readonly opts: { password?: string; onEvent: (e: SentinelEvent) => void }) {}

  async start(): Promise<void> {
    for (const addr of this.addresses) {
      const [host, port] = splitAddress(addr);
      const sub = new Redis({
        host, port, password: this.opts.password, lazyConnect: true, maxRetriesPerRequest: null, enableReadyCheck: false,
        retryStrategy: (n: number) => Math.min(200 * n, 5000), connectionName: 'redis-fleet-guard-watch',
      });
      sub.on('error', () => { /* a Sentinel down is seen by the rounds */ });
      sub.on('message', (channel: string, payload: string) => this.handle(addr, channel, payload));
      this.subs.push(sub);
      // subscribe() is replayed by ioredis on every reconnect.
      sub.connect().then(() => sub.subscribe(...SENTINEL_CHANNELS)).catch(() => {});
    }
  }

  private handle(sentinel: string, channel: string, payload: string): void {
    const now = Date.now();
    if (SHARED.has(channel)) {
      const key = `${channel} ${payload}`;
      const seen = this.recent.get(key);
      if (seen !== undefined && now - seen < DEDUPE_MS) return;
      this.recent.set(key, now);
      for (const [k, t] of this.recent) if (now - t >= DEDUPE_MS) this.recent.delete(k);
    }
    this.opts.onEvent({ timestampMs: now, channel, sentinel, payload, ...parseSentinelMessage(channel, payload) });
  }

  stop(): void {
    for (const s of this.subs) s.disconnect();
    this.subs.length = 0;
  }
}
