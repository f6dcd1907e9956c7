// The tick loop: every interval (aligned to the wall clock) gather all inputs
// concurrently into one Accumulator, build one Report and hand it to the collector
// link, which buffers it until acked. Ticks never overlap.
import crypto from 'node:crypto';
import { OnceLog, type Logger } from '../common/index.js';
import { PROTOCOL_VERSION, type Report } from '../proto/index.js';
import { Accumulator } from './accumulator.js';
import { computeCapacity } from './capacity.js';
import type { AgentConfig } from './config.js';
import { INPUTS, type Input, type InputFactory } from './inputs/index.js';
import { Targets } from './targets.js';
import { buildStatus, writeStatusFile } from './status.js';
import { CollectorLink, type LinkStats } from './transport/link.js';
import { AGENT_VERSION } from './version.js';

export interface AgentOptions {
  /** Input registry to use instead of the built-in one. */
  inputs?: Readonly<Record<string, InputFactory>>;
  /** Transport tuning (tests shorten these). */
  welcomeTimeoutMs?: number;
  backoff?: { baseMs: number; maxMs: number };
}

export interface AgentHandle {
  readonly sessionId: string;
  /** Stops ticking, tries to deliver buffered reports for up to `flushMs` (default 2000), closes everything. */
  stop(opts?: { flushMs?: number }): Promise<void>;
  stats(): AgentRunStats;
}

export interface AgentRunStats extends LinkStats {
  ticks: number;
  skippedTicks: number;
  lastTickCpuMs: number;
  lastTickMs: number;
  /** Redis instances by their sample in the last tick. */
  instancesUp: number;
  instancesDown: number;
}

export const DEFAULT_FLUSH_MS = 2000;

/**
 * When a tick's samples are due: early enough that the tick never runs into the next one.
 * Counted from the boundary the tick was due at, so a timer that fired late (a loaded host)
 * does not push the deadline towards the next tick; but never less than half an interval
 * after the actual start, so a very late tick does not report healthy instances down.
 */
export function tickDeadline(startMs: number, intervalMs: number, dueMs = startMs): number {
  const budget = Math.max(50, intervalMs - Math.min(1000, intervalMs * 0.2));
  return Math.max(Math.min(startMs, dueMs) + budget, startMs + Math.min(budget, intervalMs / 2));
}
/** The status file is rewritten after a tick at most this often (a rename costs ~1 ms here). */
const STATUS_MIN_INTERVAL_MS = 5000;

export async function startAgent(config: AgentConfig, logger: Logger, options: AgentOptions = {}): Promise<AgentHandle> {
  const log = logger;
  const sessionId = crypto.randomUUID();
  const registry = options.inputs ?? INPUTS;
  const inputs: Input[] = [];
  const targets = new Targets(config.redis, config.proxies, config.dashboards);
  for (const [name, factory] of Object.entries(registry)) {
    const input = factory({ config, logger, targets });
    if (input) inputs.push(input);
    else log.debug({ input: name }, 'input not applicable');
  }
  for (const input of inputs) {
    try {
      await input.start?.();
    } catch (err) {
      log.error({ input: input.name, error: (err as Error).message }, 'input failed to start; it will be retried every tick');
    }
  }

  const link = new CollectorLink({
    addresses: config.collector.addresses,
    failbackMs: config.collector.failbackMs,
    token: config.collector.token,
    maxMessageBytes: config.collector.maxMessageBytes,
    tls: config.collector.tls,
    buffer: config.buffer,
    hello: {
      hostId: config.hostId,
      labels: config.labels,
      roles: config.roles,
      agentVersion: AGENT_VERSION,
      intervalMs: config.intervalMs,
      sessionId,
      protocolVersion: PROTOCOL_VERSION,
    },
    logger,
    welcomeTimeoutMs: options.welcomeTimeoutMs,
    backoff: options.backoff,
  });
  link.start();

  const once = new OnceLog();
  const interval = config.intervalMs;
  let statusWrittenAt = 0;
  const statusCtx = {
    hostId: config.hostId,
    version: AGENT_VERSION,
    sessionId,
    startedAt: Date.now(),
    intervalMs: interval,
    roles: config.roles,
    inputs: inputs.map((i) => i.name),
    collectorAddresses: config.collector.addresses.map((a) => a.address),
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let ticks = 0;
  let skipped = 0;
  let lastTickCpuMs = 0;
  let lastTickMs = 0;
  let instancesUp = 0;
  let instancesDown = 0;

  /** Next tick on an interval boundary at least `minGapMs` away. */
  const schedule = (minGapMs = 0): void => {
    if (stopped) return;
    const now = Date.now();
    const next = (Math.floor((now + minGapMs) / interval) + 1) * interval;
    timer = setTimeout(() => onTimer(next), next - now);
  };

  const onTimer = (boundary: number): void => {
    schedule();
    if (running) {
      skipped++;
      if (once.enter('overrun', 'yes')) log.warn({ intervalMs: interval, skipped }, 'previous tick still running; tick skipped');
      return;
    }
    running = safeTick(boundary);
  };

  /** `boundary`: when the tick was due. A timer that fires late must not move the deadline into the next tick. */
  const safeTick = (boundary?: number): Promise<void> =>
    tick(boundary)
      .catch((err: unknown) => {
        log.error({ error: (err as Error).message }, 'tick failed');
      })
      .finally(() => {
        running = undefined;
      });

  const tick = async (boundary?: number): Promise<void> => {
    const startMs = Date.now();
    const cpu0 = process.cpuUsage();
    const acc = new Accumulator(startMs, tickDeadline(startMs, interval, boundary));
    await Promise.all(
      inputs.map(async (input) => {
        try {
          await input.gather(acc);
          if (once.clear(`input:${input.name}`)) log.info({ input: input.name }, 'input works again');
        } catch (err) {
          const message = (err as Error).message;
          acc.addError(input.name, message);
          if (once.enter(`input:${input.name}`, message)) log.error({ input: input.name, error: message }, 'input failed');
        }
      }),
    );
    const capacity = computeCapacity(config.instanceSlots, acc.redis, targets.redis);
    const cpu = process.cpuUsage(cpu0);
    lastTickCpuMs = (cpu.user + cpu.system) / 1000;
    instancesUp = acc.redis.filter((s) => s.up).length;
    instancesDown = acc.redis.length - instancesUp;
    const linkStats = link.stats();
    const report: Omit<Report, 'seq'> = {
      timestampMs: startMs,
      host: acc.host,
      capacity,
      redis: acc.redis,
      proxies: acc.proxies,
      dashboards: acc.dashboards,
      persistence: acc.persistence,
      guard: acc.guard,
      events: acc.events,
      sentinels: acc.sentinels,
      agent: {
        bufferedReports: linkStats.bufferedReports,
        droppedReports: linkStats.droppedReports,
        tickCpuMs: lastTickCpuMs,
        rssBytes: process.memoryUsage.rss(),
        reconnects: linkStats.reconnects,
      },
    };
    link.submit(report);
    if (config.statusFile && Date.now() - statusWrittenAt >= STATUS_MIN_INTERVAL_MS) {
      statusWrittenAt = Date.now();
      try {
        writeStatusFile(config.statusFile, buildStatus(statusCtx, report, link.stats(), acc.errors));
        if (once.clear('status-file')) log.info({ statusFile: config.statusFile }, 'status file written again');
      } catch (err) {
        if (once.enter('status-file', 'failed'))
          log.warn(
            { statusFile: config.statusFile, error: (err as Error).message },
            'cannot write the status file; `redis-fleet status` will be stale (set statusFile)',
          );
      }
    }
    ticks++;
    lastTickMs = Date.now() - startMs;
    if (once.clear('overrun')) log.info({ skipped }, 'ticks back on time');
  };

  log.info(
    {
      hostId: config.hostId,
      sessionId,
      version: AGENT_VERSION,
      intervalMs: interval,
      inputs: inputs.map((i) => i.name),
      instances: config.redis.map((r) => r.address),
      collector: config.collector.addresses.map((a) => a.address),
    },
    'agent started',
  );
  // First tick right away, then on interval boundaries (not one a few ms after the first).
  running = safeTick();
  schedule(interval / 2);

  return {
    sessionId,
    stats: () => ({ ...link.stats(), ticks, skippedTicks: skipped, lastTickCpuMs, lastTickMs, instancesUp, instancesDown }),
    async stop(opts = {}) {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      if (running) await running;
      await Promise.all(inputs.map((i) => i.stop?.().catch(() => undefined)));
      const flushed = await link.flush(opts.flushMs ?? DEFAULT_FLUSH_MS);
      const st = link.stats();
      await link.stop();
      log.info({ flushed, unsent: flushed ? 0 : st.bufferedReports, lastSeq: st.lastSeq }, 'agent stopped');
    },
  };
}
