// Sampling one nutcracker: read, parse, rate against the previous good read. nutcracker
// only re-aggregates its stats every stats interval (-i, default 30 s), so reading faster
// returns the same numbers and turns rates into zeros and spikes: the poller refuses to
// read again before statsIntervalMs has passed and hands back the previous sample.
import type { ProxySample } from '../../proto/index.js';
import { downSample, errorText } from '../fields.js';
import type { NutcrackerPoolConfig } from './config.js';
import { parseTwemproxyStats, type TwemproxyStats } from './parse.js';
import { twemproxyRates, type TwemproxyRateResult } from './rates.js';
import { readTwemproxyStats } from './read.js';
import { twemproxySample } from './sample.js';

export interface TwemproxyPollerOptions {
  /** The stats address (nutcracker -a/-s), host:port. */
  address: string;
  /** nutcracker's stats interval (-i); reads closer together than this are refused. */
  statsIntervalMs: number;
  /** Deadline of one read (connect + read to EOF). */
  timeoutMs: number;
  /** Largest stats document accepted (default 4 MiB). */
  maxBytes?: number;
  /** ProxySample.name; default the document's `source`. */
  name?: string;
  /** The proxy's pool config, for when-is-a-server-ejected and server addresses (see TwemproxySampleOptions). */
  pools?: readonly NutcrackerPoolConfig[];
  /** Clock (ms); tests may inject one. */
  now?: () => number;
}

export interface TwemproxyPoll {
  sample: ProxySample;
  /** false when the read was refused as too early: `sample` is the previous one. */
  fresh: boolean;
  /** When not fresh: ms until the poller reads again. */
  nextReadInMs: number;
  /** The parsed document of a fresh, successful read. */
  stats: TwemproxyStats | undefined;
  rates: TwemproxyRateResult | undefined;
}

export class TwemproxyPoller {
  private lastReadAtMs: number | undefined;
  private last: TwemproxyPoll | undefined;
  private baseline: { stats: TwemproxyStats; atMs: number } | undefined;
  private inFlight: Promise<TwemproxyPoll> | undefined;
  private readonly now: () => number;

  constructor(readonly options: TwemproxyPollerOptions) {
    if (!(options.statsIntervalMs >= 0)) throw new RangeError('statsIntervalMs must be >= 0');
    this.now = options.now ?? Date.now;
  }

  /** ms until a read is allowed (0 = now). */
  tooEarlyByMs(): number {
    if (this.lastReadAtMs === undefined) return 0;
    return Math.max(0, this.lastReadAtMs + this.options.statsIntervalMs - this.now());
  }

  async poll(): Promise<TwemproxyPoll> {
    if (this.inFlight) return { ...(await this.inFlight), fresh: false, nextReadInMs: this.tooEarlyByMs() };
    const wait = this.tooEarlyByMs();
    if (wait > 0 && this.last) return { ...this.last, fresh: false, nextReadInMs: wait, stats: undefined, rates: undefined };
    this.inFlight = this.read();
    try {
      this.last = await this.inFlight;
      return this.last;
    } finally {
      this.inFlight = undefined;
    }
  }

  private async read(): Promise<TwemproxyPoll> {
    const { address } = this.options;
    const atMs = this.now();
    this.lastReadAtMs = atMs;
    let stats: TwemproxyStats;
    try {
      stats = parseTwemproxyStats(
        await readTwemproxyStats(address, { timeoutMs: this.options.timeoutMs, maxBytes: this.options.maxBytes }),
      );
    } catch (err) {
      return {
        sample: downSample('twemproxy', address, this.options.name ?? '', errorText(err)),
        fresh: true,
        nextReadInMs: 0,
        stats: undefined,
        rates: undefined,
      };
    }
    const rates = twemproxyRates(this.baseline?.stats, this.baseline?.atMs ?? 0, stats, atMs);
    this.baseline = { stats, atMs };
    const sample = twemproxySample(stats, { address, name: this.options.name, rates, pools: this.options.pools });
    return { sample, fresh: true, nextReadInMs: 0, stats, rates };
  }
}

/** One read of a nutcracker stats port as a ProxySample (no rates, no interval guard). Never throws. */
export async function pollTwemproxy(opts: {
  address: string;
  timeoutMs: number;
  maxBytes?: number;
  name?: string;
  pools?: readonly NutcrackerPoolConfig[];
}): Promise<ProxySample> {
  try {
    const stats = parseTwemproxyStats(await readTwemproxyStats(opts.address, opts));
    return twemproxySample(stats, { address: opts.address, name: opts.name, pools: opts.pools });
  } catch (err) {
    return downSample('twemproxy', opts.address, opts.name ?? '', errorText(err));
  }
}
