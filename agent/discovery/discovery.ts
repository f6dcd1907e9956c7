// Periodic re-scan: at start, then every few minutes on its own timer (never on the sampling tick),
// reporting what appeared and what went away.
import { discoverLocal, type DiscoverOptions } from './scan.js';
import type { Discovered, DiscoveredInstance } from './types.js';

export const DEFAULT_RESCAN_MS = 5 * 60_000;

export interface DiscoveryOptions extends DiscoverOptions {
  /** Default 5 minutes. */
  intervalMs?: number;
  /** Called after a scan that found a difference (the first scan reports everything as added). */
  onChange?: (added: DiscoveredInstance[], removed: DiscoveredInstance[], current: Discovered) => void;
  /** A failed scan (e.g. /proc unreadable); the next one is still scheduled. */
  onError?: (err: unknown) => void;
}

/** Same process, same endpoint: a restarted Redis (new pid) or a moved port is a removal plus an addition. */
export const instanceKey = (i: DiscoveredInstance): string => `${i.kind}|${i.pid}|${i.address}`;

export class Discovery {
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Discovered> | undefined;
  private stopped = true;
  private last: Discovered | undefined;

  constructor(private readonly opts: DiscoveryOptions = {}) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_RESCAN_MS;
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be positive (got ${this.intervalMs})`);
  }

  /** The last completed scan. */
  get current(): Discovered | undefined {
    return this.last;
  }

  /** Scans once now and schedules the re-scans. Resolves with the first scan. */
  async start(): Promise<Discovered> {
    if (!this.stopped) throw new Error('Discovery already started');
    this.stopped = false;
    try {
      return await this.rescan();
    } finally {
      this.schedule();
    }
  }

  /** Scans now (joining a scan already in flight) and reports the difference to the previous one. */
  rescan(): Promise<Discovered> {
    this.running ??= this.scanOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async scanOnce(): Promise<Discovered> {
    const next = await discoverLocal(this.opts);
    const before = new Map((this.last?.instances ?? []).map((i) => [instanceKey(i), i]));
    const after = new Set(next.instances.map(instanceKey));
    const added = next.instances.filter((i) => !before.has(instanceKey(i)));
    const removed = [...before.values()].filter((i) => !after.has(instanceKey(i)));
    this.last = next;
    if ((added.length || removed.length) && this.opts.onChange) {
      try {
        this.opts.onChange(added, removed, next);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
    return next;
  }

  private schedule(): void {
    if (this.stopped) return;
    // A chained timeout, not an interval: a slow scan never overlaps the next one.
    this.timer = setTimeout(() => {
      this.rescan()
        .catch((err: unknown) => this.opts.onError?.(err))
        .finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }
}
