// Watches the storage path (sink, spool, paused agent streams) once a second: what
// /healthz says about it, and collector events for the built-in alerts
// (CollectorSpooling, CollectorBackpressure, MetricsDropped). The events go to the
// alert evaluation directly, so they fire even when the sink itself has no room.
import type { Logger } from '../common/index.js';
import { eventPoint, type Point } from './points.js';
import type { MetricSink, StorageState } from './sink.js';

/** The host tag of the collector's own events. */
export const COLLECTOR_SOURCE = { hostId: 'collector', labels: {} };

/** How long a drop keeps /healthz degraded. */
const DROP_MEMORY_MS = 15 * 60_000;

export interface BackpressureSource {
  /** Agent streams paused right now because the sink has no room. */
  readonly pausedStreams: number;
  /** Streams ended with UNAVAILABLE after waiting too long for room, since start. */
  readonly backpressureEnds: number;
}

export interface StorageHealth {
  status: 'ok' | 'degraded';
  /** pausedStreams: waiting for room now; streamsEnded: ended with UNAVAILABLE after waiting too long (nothing lost: the agents resend). */
  storage: StorageState & { pausedStreams: number; streamsEnded: number };
  drops: { rejected: number; noRoom: number; lastAt: string | null };
}

export class StorageWatch {
  /** Unknown until the first check, which says the state either way: an alert fired before a restart must resolve. */
  private spooling: boolean | undefined;
  private full: boolean | undefined;
  private dropped = 0;
  private lastDropAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sink: MetricSink,
    private readonly streams: BackpressureSource,
    /** `store` false: for the rules only (the first check's "nothing to report", not worth a line in the history). */
    private readonly emit: (points: Point[], store: boolean) => void,
    private readonly logger: Logger,
  ) {}

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One look: emits an event per change (spooling, backpressure, new drops). */
  check(now = Date.now()): void {
    const st = this.sink.storage();
    const stats = this.sink.stats();
    const spooling = st.state !== 'ok' && st.spool !== undefined && (st.state === 'spooling' || st.spool.points > 0);
    const full = st.state === 'full' || this.streams.pausedStreams > 0;
    const events: Point[] = [];
    // The first look after a start resolves what a previous run left firing (a no-op when
    // nothing fires); what is wrong now is reported below as a change, as always.
    const atStart: Point[] = [];
    if (this.spooling === undefined && !spooling) {
      this.spooling = false;
      atStart.push(eventPoint(COLLECTOR_SOURCE, 'collector.spool_drained', 'nothing spooled at start', now));
    }
    if (this.full === undefined && !full) {
      this.full = false;
      atStart.push(eventPoint(COLLECTOR_SOURCE, 'collector.backpressure_cleared', 'storage has room at start', now));
    }
    if (atStart.length) this.emit(atStart, false);
    if (spooling !== this.spooling) {
      this.spooling = spooling;
      events.push(
        spooling
          ? eventPoint(
              COLLECTOR_SOURCE,
              'collector.spooling',
              `InfluxDB does not take points (${st.reason ?? 'behind'}); spooling to disk`,
              now,
            )
          : eventPoint(COLLECTOR_SOURCE, 'collector.spool_drained', 'the spool has drained into InfluxDB', now),
      );
    }
    if (full !== this.full) {
      this.full = full;
      if (full)
        this.logger.error(
          { reason: st.reason, pausedStreams: this.streams.pausedStreams },
          'storage full: agent streams paused, reports not acked (agents keep buffering)',
        );
      else this.logger.info('storage has room again: agent streams resumed');
      events.push(
        full
          ? eventPoint(
              COLLECTOR_SOURCE,
              'collector.backpressure',
              `no room to store reports (${st.reason ?? 'buffers full'}); agents keep buffering`,
              now,
            )
          : eventPoint(COLLECTOR_SOURCE, 'collector.backpressure_cleared', 'storage has room again', now),
      );
    }
    const dropped = stats.droppedRejected + stats.droppedNoRoom;
    if (dropped > this.dropped) {
      const attrs = { rejected: String(stats.droppedRejected), no_room: String(stats.droppedNoRoom) };
      events.push(eventPoint(COLLECTOR_SOURCE, 'collector.points_dropped', `${dropped - this.dropped} more points dropped`, now, attrs));
      this.lastDropAt = now;
    }
    this.dropped = dropped;
    if (events.length) this.emit(events, true);
  }

  health(now = Date.now()): StorageHealth {
    const st = this.sink.storage();
    const stats = this.sink.stats();
    const paused = this.streams.pausedStreams;
    const recentDrop = this.lastDropAt > 0 && now - this.lastDropAt < DROP_MEMORY_MS;
    return {
      status: st.state !== 'ok' || paused > 0 || recentDrop ? 'degraded' : 'ok',
      storage: { ...st, pausedStreams: paused, streamsEnded: this.streams.backpressureEnds },
      drops: {
        rejected: stats.droppedRejected,
        noRoom: stats.droppedNoRoom,
        lastAt: this.lastDropAt ? new Date(this.lastDropAt).toISOString() : null,
      },
    };
  }
}
