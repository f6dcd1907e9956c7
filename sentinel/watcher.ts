// Subscribes to Sentinels' event channels and turns each message into a SentinelEvent. Events
// every Sentinel publishes alike (+switch-master, ...) are reported once per payload; per-observer
// events (+sdown, +tilt, ...) keep which Sentinel saw them.
import { Redis } from 'ioredis';
import { parseSentinelMessage, splitAddress, type SentinelEvent } from './parse.js';

export const SENTINEL_CHANNELS = [
  '+switch-master',
  '+sdown',
  '-sdown',
  '+odown',
  '-odown',
  '+failover-end',
  '+convert-to-slave',
  '+tilt',
  '-tilt',
  '-failover-abort-not-elected',
  '-failover-abort-no-good-slave',
] as const;
const SHARED = new Set(['+switch-master', '+failover-end', '+convert-to-slave']);
// The same event from every Sentinel arrives within about a second; a real fail-back to the same
// master (the same payload) takes longer than this.
const DEDUPE_MS = 5_000;

export interface WatchOptions {
  password?: string;
  /** A per-Sentinel password (wins over `password`). */
  passwordFor?: (address: string) => string | undefined;
  /** CLIENT SETNAME of the subscriber connections. */
  connectionName?: string;
  onEvent: (e: SentinelEvent) => void;
}

export class SentinelWatch {
  private readonly subs = new Map<string, Redis>();
  private readonly recent = new Map<string, number>();
  private started = false;

  constructor(
    private addresses: string[],
    private readonly opts: WatchOptions,
  ) {}

  async start(): Promise<void> {
    this.started = true;
    for (const addr of this.addresses) this.open(addr);
  }

  /** Follows a changed set of Sentinels (discovered ones come and go). */
  setAddresses(addresses: string[]): void {
    const wanted = new Set(addresses);
    this.addresses = [...wanted];
    if (!this.started) return;
    for (const [addr, sub] of this.subs)
      if (!wanted.has(addr)) {
        sub.disconnect();
        this.subs.delete(addr);
      }
    for (const addr of wanted) if (!this.subs.has(addr)) this.open(addr);
  }

  private open(addr: string): void {
    const [host, port] = splitAddress(addr);
    const sub = new Redis({
      host,
      port,
      password: this.opts.passwordFor?.(addr) ?? this.opts.password,
      lazyConnect: true,
      maxRetriesPerRequest: null,
      enableReadyCheck: false,
      retryStrategy: (n: number) => Math.min(200 * n, 5000),
      connectionName: this.opts.connectionName ?? 'redis-fleet-guard-watch',
    });
    sub.on('error', () => {
      /* a Sentinel down is seen by the rounds / samples */
    });
    sub.on('message', (channel: string, payload: string) => this.handle(addr, channel, payload));
    this.subs.set(addr, sub);
    // Not connect().then(subscribe): when the first connect fails (a Sentinel down at boot), ioredis
    // keeps reconnecting but has nothing to resubscribe, and the events of that Sentinel are lost
    // for good. The subscribe waits in the offline queue instead, and is replayed on every reconnect.
    sub.subscribe(...SENTINEL_CHANNELS).catch(() => {});
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
    this.started = false;
    for (const s of this.subs.values()) s.disconnect();
    this.subs.clear();
  }
}
