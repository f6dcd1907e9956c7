// One monitored Redis instance: a persistent connection, and per tick one INFO ALL
// (plus CONFIG GET maxmemory/maxclients every few ticks) turned into a RedisSample.
import os from 'node:os';
import { Redis } from 'ioredis';
import { Form2Columns, form2Sample, type RedisSample, type SlowlogEntry } from '../../proto/index.js';
import type { RedisInstanceConfig } from '../config.js';
import { nameWhenReady, TimeoutError, withTimeout } from '../../common/index.js';
import { describeRedisError, isReplyError } from './errors.js';
import { InfoPicks, parseInfoColumns } from './info.js';
import { RATE_COUNTERS, computeHeadroom, computeRates, rateSnapshotOf, type RateSnapshot } from './rates.js';
import { parseSlowlogReply, SlowlogCursor } from './slowlog.js';

export const CLIENT_NAME = 'redis-fleet-agent';

export interface InstanceOptions {
  /** Bound on connecting and on every command: a hung instance cannot stall the tick. */
  timeoutMs: number;
  /** CONFIG GET runs at (re)connect and then every this many ticks. */
  configEveryTicks: number;
  /** Longest pause between reconnect attempts. */
  maxReconnectDelayMs: number;
}

/** INFO fields the sample reads itself (CONFIG fallback, headroom, rates, the slowlog cursor). */
const PICKED = ['maxmemory', 'maxclients', 'used_memory', 'run_id', 'uptime_in_seconds', ...RATE_COUNTERS];

export type ConfigState = { kind: 'unknown' } | { kind: 'ok'; maxmemory: number; maxclients: number } | { kind: 'refused'; error: string };

const noop = (): void => {};

/** Fresh connections one sample may open after losing its connection (sample()). */
const LOST_CONNECTION_RETRIES = 3;

/** os.totalmem() reads /proc/meminfo (3 syscalls): once a minute is enough for the headroom's denominator. */
let memTotal = { bytes: 0, atMs: -Infinity };
function hostMemTotal(nowMs: number): number {
  if (nowMs - memTotal.atMs >= 60_000 || nowMs < memTotal.atMs) memTotal = { bytes: os.totalmem(), atMs: nowMs };
  return memTotal.bytes;
}

export class RedisInstance {
  private readonly client: Redis;
  /** Last connection-level error since the last good sample (the reason when not ready). */
  private lastError: string | undefined;
  private configDue = true;
  private ticksSinceConfig = 0;
  private configState: ConfigState = { kind: 'unknown' };
  private prev: RateSnapshot | undefined;
  private stopped = false;
  private readonly slowlogCursor = new SlowlogCursor();
  /** SLOWLOG refused (renamed, NOPERM): the reason, retried with CONFIG GET's cadence. */
  private slowlogRefused: string | undefined;
  private inFlight: Promise<RedisSample> | undefined;
  /** This instance's INFO in form-2 columns, reused every tick. */
  private readonly columns = new Form2Columns();
  private readonly picks = new InfoPicks(PICKED);

  constructor(
    readonly cfg: RedisInstanceConfig,
    private readonly opts: InstanceOptions,
  ) {
    this.client = nameWhenReady(
      new Redis({
        host: cfg.host,
        port: cfg.port,
        username: cfg.user,
        password: cfg.password,
        lazyConnect: true,
        enableOfflineQueue: false,
        enableReadyCheck: false, // a loading instance is up (loading:1), not "not ready"
        connectTimeout: opts.timeoutMs,
        commandTimeout: opts.timeoutMs,
        maxRetriesPerRequest: 0,
        retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times - 1, 16), opts.maxReconnectDelayMs),
        disableClientInfo: true, // and no connectionName: named once ready (common/redis-name.ts)
        autoResendUnfulfilledCommands: false,
        autoResubscribe: false,
        enableAutoPipelining: true, // INFO and SLOWLOG GET of one tick leave in one write (one syscall)
      }),
      CLIENT_NAME,
    );
    this.client.on('error', (err: unknown) => {
      this.lastError = describeRedisError(err, cfg.password);
    });
    this.client.on('ready', () => {
      this.configDue = true;
    });
    // A peer that just closes (killed, restarted) emits no error: say so until we know more.
    this.client.on('close', () => {
      this.lastError ??= 'connection closed';
    });
  }

  get address(): string {
    return this.cfg.address;
  }
  get config(): ConfigState {
    return this.configState;
  }
  /** Why SLOWLOG is unavailable on this instance, or undefined when it works. */
  get slowlogError(): string | undefined {
    return this.slowlogRefused;
  }

  start(): void {
    this.client.connect().catch(noop);
  }

  stop(): void {
    this.stopped = true;
    this.client.disconnect();
  }

  /**
   * Resolves true once the connection is ready, false when it is not going to be within `ms`.
   * `throughRetry`: wait for ioredis's own pending reconnect instead of giving up on it.
   */
  private waitReady(ms: number, throughRetry = false): Promise<boolean> {
    const c = this.client;
    if (c.status === 'ready') return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    if (c.status === 'wait' || c.status === 'end') c.connect().catch(noop);
    else if (!throughRetry && (c.status === 'reconnecting' || c.status === 'close')) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        c.off('ready', onReady);
        c.off('close', onClose);
        resolve(ok);
      };
      const onReady = (): void => done(true);
      const onClose = (): void => done(false);
      const timer = setTimeout(() => done(false), ms);
      c.once('ready', onReady);
      c.once('close', onClose);
    });
  }

  /** CONFIG GET maxmemory / maxclients replies; a ReplyError (renamed, NOPERM) means refused. */
  private applyConfig(mm: [Error | null, unknown], mc: [Error | null, unknown]): void {
    const err = mm[0] ?? mc[0];
    if (err) {
      if (isReplyError(err)) {
        this.configState = { kind: 'refused', error: describeRedisError(err, this.cfg.password) };
        this.configDue = false;
        this.ticksSinceConfig = 0;
      }
      // Anything else (timeout, connection lost) is transient: try again next tick.
      return;
    }
    const maxmemory = Number((mm[1] as string[] | undefined)?.[1]);
    const maxclients = Number((mc[1] as string[] | undefined)?.[1]);
    if (!Number.isFinite(maxmemory) || !Number.isFinite(maxclients)) {
      this.configState = { kind: 'refused', error: 'unexpected CONFIG GET reply' };
    } else {
      this.configState = { kind: 'ok', maxmemory, maxclients };
    }
    this.configDue = false;
    this.ticksSinceConfig = 0;
  }

  /** SLOWLOG GET reply: the entries, or undefined when refused (remembered) or failed this tick. */
  private applySlowlog(r: [Error | null, unknown]): unknown {
    const err = r[0];
    if (!err) {
      this.slowlogRefused = undefined;
      return r[1];
    }
    if (isReplyError(err)) this.slowlogRefused = describeRedisError(err, this.cfg.password);
    return undefined;
  }

  /**
   * The sample, or a down one at `deadlineMs` when the instance has not answered by then (frozen,
   * SIGSTOPped): the tick's report goes out on time with everyone else's samples. A sample still
   * running from an earlier tick is not started twice.
   */
  async sampleBy(deadlineMs: number): Promise<RedisSample> {
    const startMs = Date.now();
    if (this.inFlight) return this.down(startMs, 'no reply: the previous sample is still waiting');
    const p = this.sample().finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = p;
    const left = deadlineMs - startMs;
    if (!Number.isFinite(left)) return p;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<RedisSample>((resolve) => {
      // setImmediate: after a stalled event loop, a reply already in the socket is read (poll
      // phase) before the deadline counts as missed (timers run first).
      timer = setTimeout(
        () => setImmediate(() => resolve(this.down(startMs, `no reply within ${Math.max(0, left)} ms (the tick's deadline)`))),
        Math.max(0, left),
      );
    });
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  }

  /**
   * A connection within `ms`: opened now when ioredis has given up ('end'), else its own pending
   * retry (the first one comes 100 ms after a lost connection). Calling connect() while a retry is
   * pending would leave ioredis's retry timer running beside a second socket, which then
   * reconnects forever, even after stop().
   */
  private reconnectNow(ms: number): Promise<boolean> {
    const c = this.client;
    if (!this.stopped && c.status === 'end') c.connect().catch(noop);
    return this.waitReady(ms, true);
  }

  /**
   * One sample; never throws. A lost connection (Sentinel's CLIENT KILL on reconfigure, a restart
   * in between) is not yet "down": a fresh connection and another try, again each time the fresh
   * connection is lost too, within the same budget (Sentinel may kill it as well, e.g. while it
   * reconfigures several replicas). A reconnect that fails ends the sample, and so does the
   * LOST_CONNECTION_RETRIES-th lost one (a server that accepts and then closes, e.g. at maxclients,
   * is not hammered).
   */
  async sample(): Promise<RedisSample> {
    const startMs = Date.now();
    const endMs = startMs + this.opts.timeoutMs;
    let last = await this.sampleOnce(startMs, this.opts.timeoutMs);
    for (let retry = 0; retry < LOST_CONNECTION_RETRIES && !last.sample.up && last.connectionLost && !this.stopped; retry++) {
      const left = endMs - Date.now();
      if (left < 20) break;
      try {
        const next = await withTimeout(
          this.reconnectNow(left).then((ok) => (ok ? this.sampleOnce(startMs, left) : undefined)),
          left,
          'INFO',
        );
        // A reconnect that fails (refused: the instance is really gone) ends it; only a connection
        // that was up and then lost again is tried again.
        if (!next) break;
        last = next;
      } catch (err) {
        return err instanceof TimeoutError ? this.down(startMs, `no reply within ${this.opts.timeoutMs} ms`) : last.sample;
      }
    }
    return last.sample;
  }

  private async sampleOnce(startMs: number, waitMs: number): Promise<{ sample: RedisSample; connectionLost: boolean }> {
    if (!(await this.waitReady(waitMs))) {
      const st = this.client.status;
      const sample = this.down(startMs, this.lastError ?? (st === 'connecting' || st === 'connect' ? 'connect timeout' : 'not connected'));
      return { sample, connectionLost: st === 'reconnecting' || st === 'close' || st === 'end' };
    }
    this.ticksSinceConfig++;
    const wantConfig = this.configDue || this.ticksSinceConfig >= this.opts.configEveryTicks;
    const wantSlowlog = this.slowlogRefused === undefined || wantConfig;
    let text: string;
    let slowlogRaw: unknown;
    try {
      // One write and (usually) one read per tick: INFO is never auto-pipelined by ioredis, so
      // sent alone it would cost a write and a read of its own (syscalls are most of the tick
      // here; docs/benchmarks.md, "Agent cost").
      const p = this.client.pipeline().info('all');
      if (wantSlowlog) p.call('SLOWLOG', 'GET', '1');
      if (wantConfig) p.call('CONFIG', 'GET', 'maxmemory').call('CONFIG', 'GET', 'maxclients');
      const res = (await p.exec()) ?? [];
      const info = res[0];
      if (!info) throw new Error('no reply to INFO');
      if (info[0]) throw info[0];
      text = String(info[1]);
      slowlogRaw = wantSlowlog && res[1] ? this.applySlowlog(res[1]) : undefined;
      const cfg = wantSlowlog ? 2 : 1;
      if (wantConfig && res[cfg] && res[cfg + 1]) this.applyConfig(res[cfg], res[cfg + 1]);
    } catch (err) {
      // A reply (NOAUTH, NOPERM, LOADING...) is the instance's own answer; a dropped
      // connection is better explained by the error that dropped it (e.g. WRONGPASS). So is a
      // NOAUTH that only follows this connection's refused AUTH: ioredis reports the refusal as an
      // error event, and the connection is ready before AUTH's reply (common/redis-name.ts).
      const ownAnswer = isReplyError(err) && !(/^NOAUTH/.test((err as Error).message) && this.lastError?.startsWith('WRONGPASS'));
      const reason = ownAnswer
        ? describeRedisError(err, this.cfg.password)
        : (this.lastError ?? describeRedisError(err, this.cfg.password));
      const st = this.client.status;
      return {
        sample: this.down(startMs, reason),
        connectionLost: !isReplyError(err) && st !== 'ready' && st !== 'connect' && st !== 'connecting',
      };
    }
    const atMs = Date.now();
    this.lastError = undefined;
    const cols = this.columns;
    const picks = this.picks;
    const rows = parseInfoColumns(text, cols, picks);
    const num = (name: string): number | undefined => {
      const v = picks.num[picks.slot(name)]!;
      return Number.isNaN(v) ? undefined : v;
    };
    const unavailable: string[] = [];
    let maxmemory = num('maxmemory') ?? -1;
    let maxclients = num('maxclients') ?? -1;
    if (this.configState.kind === 'ok') {
      maxmemory = this.configState.maxmemory;
      maxclients = this.configState.maxclients;
    } else if (this.configState.kind === 'refused') {
      unavailable.push('CONFIG');
    }
    if (this.slowlogRefused !== undefined) unavailable.push('SLOWLOG');
    const runId = picks.str[picks.slot('run_id')] ?? '';
    const snap = rateSnapshotOf(num, runId, atMs);
    const rates = computeRates(this.prev, snap);
    this.prev = snap;
    const usedMemory = num('used_memory') ?? 0;
    // The SLOWLOG catch-up may wait for one more reply: the columns are this instance's own, so
    // other instances' samples parsed meanwhile do not touch them.
    const slowlog = slowlogRaw === undefined ? [] : await this.newSlowlogEntries(slowlogRaw, runId);
    return {
      connectionLost: false,
      sample: form2Sample(
        {
          address: this.cfg.address,
          cluster: this.cfg.cluster,
          group: this.cfg.group,
          up: true,
          error: '',
          sampledAtMs: atMs,
          role: rows.role,
          replicas: rows.replicas,
          keyspace: rows.keyspace,
          errorstats: rows.errorstats,
          maxmemory,
          maxclients,
          rates,
          headroom: computeHeadroom(usedMemory, maxmemory, hostMemTotal(atMs)),
          unavailable,
          slowlog,
        },
        cols,
      ),
    };
  }

  /** SLOWLOG GET n; undefined when refused (and remembered) or failed this tick. */
  private async fetchSlowlog(n: number): Promise<unknown> {
    try {
      const reply = await this.client.call('SLOWLOG', 'GET', String(n));
      this.slowlogRefused = undefined;
      return reply;
    } catch (err) {
      if (isReplyError(err)) this.slowlogRefused = describeRedisError(err, this.cfg.password);
      return undefined;
    }
  }

  private async newSlowlogEntries(raw: unknown, runId: string): Promise<SlowlogEntry[]> {
    let entries = parseSlowlogReply(raw);
    const n = this.slowlogCursor.toFetch(entries[0], runId);
    if (n === 0) return [];
    if (n > 1) {
      const more = await this.fetchSlowlog(n);
      if (more === undefined) return []; // failed this tick: the cursor stays, next tick catches up
      entries = parseSlowlogReply(more);
    }
    return this.slowlogCursor.take(entries, runId);
  }

  private down(atMs: number, error: string): RedisSample {
    return {
      address: this.cfg.address,
      cluster: this.cfg.cluster,
      group: this.cfg.group,
      up: false,
      error,
      sampledAtMs: atMs,
      role: '',
      info: {},
      replicas: [],
      keyspace: [],
      commandstats: [],
      latencystats: [],
      errorstats: [],
      maxmemory: -1,
      maxclients: -1,
      unavailable: [],
      slowlog: [],
    };
  }
}
