// GET /metrics: the collector's own health in the Prometheus exposition format
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Every value is read
// on scrape from the counters the collector already keeps (gRPC streams, sink stats,
// storage watch, alerting outbox, cluster election): nothing is updated on the hot path.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Alerting } from './alerting/index.js';
import type { MetricSink } from './sink.js';
import type { BackpressureSource } from './storage-watch.js';

const PREFIX = 'redis_fleet_collector_';

export interface MetricsSources {
  sink: MetricSink;
  grpc: BackpressureSource & { readonly connectedHosts: number; readonly ingest: { reports: number; acked: number; samples: number } };
  hosts: () => number;
  alerting?: Alerting;
  cluster?: { view(): { leader: boolean; epoch: number } };
}

type Read = () => number;

/** A counter whose value is read at scrape time from a running total kept elsewhere. */
function counter(registry: Registry, name: string, help: string, read: Read): void {
  new Counter({
    name: PREFIX + name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

function gauge(registry: Registry, name: string, help: string, read: Read): void {
  new Gauge({
    name: PREFIX + name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** One registry per collector instance (not prom-client's global one): two collectors in a process stay apart. */
export function collectorMetrics(src: MetricsSources): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: PREFIX });
  const { sink, grpc } = src;

  gauge(r, 'agents_connected', 'Agent streams connected now (one per host).', () => grpc.connectedHosts);
  gauge(r, 'hosts', 'Hosts known to the collector (connected or not).', src.hosts);
  counter(r, 'reports_received_total', 'Valid agent reports received.', () => grpc.ingest.reports);
  counter(r, 'reports_acked_total', 'Agent reports acked (stored).', () => grpc.ingest.acked);
  counter(
    r,
    'ingest_samples_total',
    'Instance samples (Redis, proxy, Sentinel, dashboard) in received reports.',
    () => grpc.ingest.samples,
  );

  counter(r, 'sink_points_accepted_total', 'Points the sink accepted.', () => sink.stats().accepted);
  counter(r, 'sink_points_written_total', 'Points stored (InfluxDB answered, or SQLite committed).', () => sink.stats().written);
  counter(r, 'sink_points_spooled_total', 'Points put in the disk spool.', () => sink.stats().spooled);
  gauge(r, 'sink_queue_points', 'Points accepted but not yet stored.', () => sink.queueLength());
  gauge(r, 'spool_bytes', 'Bytes in the disk spool (0 without InfluxDB).', () => sink.storage().spool?.bytes ?? 0);
  gauge(r, 'spool_max_bytes', 'Bound of the disk spool (spool.maxBytes; 0 without InfluxDB).', () => sink.storage().spool?.maxBytes ?? 0);
  gauge(r, 'spool_points', 'Points in the disk spool.', () => sink.storage().spool?.points ?? 0);
  new Gauge({
    name: `${PREFIX}storage_state`,
    help: 'The storage path: 1 for the current state (ok, spooling, full).',
    labelNames: ['state'],
    registers: [r],
    collect() {
      const now = sink.storage().state;
      for (const s of ['ok', 'spooling', 'full'] as const) this.set({ state: s }, s === now ? 1 : 0);
    },
  });
  new Counter({
    name: `${PREFIX}points_dropped_total`,
    help: 'Points dropped, by reason (rejected: the backend refused them; no_room: no buffer had room).',
    labelNames: ['reason'],
    registers: [r],
    collect() {
      const st = sink.stats();
      this.reset();
      this.inc({ reason: 'rejected' }, st.droppedRejected);
      this.inc({ reason: 'no_room' }, st.droppedNoRoom);
    },
  });
  gauge(r, 'streams_paused', 'Agent streams paused now because the sink has no room.', () => grpc.pausedStreams);
  counter(r, 'backpressure_ends_total', 'Agent streams ended (UNAVAILABLE) after waiting too long for room.', () => grpc.backpressureEnds);

  const alerting = src.alerting;
  if (alerting) {
    gauge(r, 'alerts_firing', 'Alerts firing now.', () => alerting.alerts.firing().length);
    const stats = alerting.outbox.stats;
    counter(r, 'notifications_delivered_total', 'Notifications delivered to a receiver integration.', () => stats.delivered);
    counter(
      r,
      'notifications_failed_total',
      'Notifications given up on (refused for good, or still failing past alerting.delivery.maxRetryAge).',
      () => stats.failed,
    );
    counter(r, 'notifications_retries_total', 'Failed delivery attempts that will be retried.', () => stats.retries);
  }
  const cluster = src.cluster;
  if (cluster) {
    gauge(r, 'cluster_leader', '1 when this collector leads the cluster.', () => (cluster.view().leader ? 1 : 0));
    gauge(r, 'cluster_epoch', 'The leader epoch this collector last saw.', () => cluster.view().epoch);
  }
  return r;
}

/** GET /metrics, viewer token (collector/access/hook.ts guards it like /api). */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', { config: { access: 'viewer' } }, async (_req, reply) => {
    const body = await registry.metrics();
    return reply.header('content-type', registry.contentType).send(body);
  });
}
