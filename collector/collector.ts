// Wires the collector together: store, sink, state, gRPC server, HTTP API, timers.
import { ConfigError, type Logger } from '../common/index.js';
import { Alerting, RuleError } from './alerting/index.js';
import { ClusterMember } from './cluster/index.js';
import { buildApi, listenApi } from './api.js';
import { ApiTls } from './api-tls.js';
import { TokenChecker } from './auth.js';
import { ApiTokens, SqliteAuditStore } from './access/index.js';
import { PgAuditStore } from './audit-pg.js';
import type { CollectorConfig } from './config.js';
import { FleetGrpcServer } from './grpc.js';
import { EmbeddedHistory, type HistoryQuery } from './history.js';
import { InfluxSink } from './influx.js';
import { PersistenceViews } from './persistence-view.js';
import { GuardViews } from './guard-view.js';
import { FailoverTracker } from './failover/index.js';
import { Placement } from './placement/index.js';
import { ProxyViews } from './proxy-view.js';
import { CodisViews } from './codis-view.js';
import { eventPoint, type Point } from './points.js';
import { emitEvents, observedSink, type MetricSink, type SinkStats } from './sink.js';
import { FleetState } from './state.js';
import { StorageWatch } from './storage-watch.js';
import { collectorMetrics } from './metrics.js';
import { Store } from './store.js';
import { COLLECTOR_VERSION } from './version.js';

export interface Collector {
  /** host:port the gRPC server is bound to. */
  grpcAddress: string;
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:7401 */
  httpUrl: string;
  sinkKind: 'influx' | 'embedded';
  sinkStats(): SinkStats;
  /** Waits until every accepted point is stored (true) or the timeout passes (false). */
  drain(timeoutMs?: number): Promise<boolean>;
  /** Points from the embedded history (throws when InfluxDB holds the metrics). */
  queryPoints(q: HistoryQuery): Point[];
  /** Re-reads the alert rule files (SIGHUP); a bad set is refused and the running one kept. */
  reloadRules(): { ok: boolean; rules: number; error?: string };
  /** Graceful stop: streams ended, servers closed, state saved, queued points flushed (bounded). */
  close(): Promise<void>;
}

const TRANSITION_CHECK_MS = 500;
const PERSIST_MS = 1000;

/** Internal options (no config key): the benchmark's peer runs the old ack-on-queue behaviour. */
export interface CollectorInternals {
  ackOnQueue?: boolean;
}

export async function startCollector(config: CollectorConfig, logger: Logger, internals: CollectorInternals = {}): Promise<Collector> {
  const store = Store.open(config.store.path);
  let cluster: ClusterMember | undefined;
  try {
    cluster = config.cluster ? await ClusterMember.open(config.cluster, logger) : undefined;
  } catch (err) {
    store.close();
    throw err;
  }
  const clusterAlerting = cluster && { store: cluster.alerting, active: () => cluster.isLeader, epoch: () => cluster.epoch };
  let history: EmbeddedHistory | undefined;
  let influx: InfluxSink | undefined;
  let sink: MetricSink;
  if (config.influx) {
    const { path: dir, maxBytes, segmentBytes } = config.spool;
    try {
      sink = influx = new InfluxSink(
        config.influx,
        logger,
        internals.ackOnQueue ? { ackOnQueue: true } : { spool: { dir, maxBytes, segmentBytes } },
      );
    } catch (err) {
      store.close();
      throw new ConfigError('spool.path', `cannot open ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else {
    sink = history = new EmbeddedHistory(
      store,
      {
        retentionMs: config.store.historyRetentionMs,
        rawRetentionMs: config.store.historyRawRetentionMs,
        maxPoints: config.store.maxHistoryPoints,
        maxBytes: config.store.historyMaxBytes,
        ackOnQueue: internals.ackOnQueue,
      },
      logger,
    );
  }

  let alerting: Alerting | undefined;
  try {
    alerting = config.alerting.enabled
      ? new Alerting(store, config.alerting, logger.child({ component: 'alerting' }), clusterAlerting)
      : undefined;
  } catch (err) {
    store.close();
    await cluster?.close();
    if (err instanceof RuleError) throw new ConfigError('alerting.ruleFiles', err.message);
    throw err;
  }
  const rawSink = sink;
  // Every accepted point of an agent's report also feeds the rule evaluation.
  if (alerting) sink = observedSink(sink, alerting.onBatch.bind(alerting));
  const ownEvents = (points: Point[]): boolean => emitEvents(points, alerting && ((p) => alerting.onPoints(p)), rawSink);

  const persistence = new PersistenceViews();
  const proxies = new ProxyViews();
  const guard = new GuardViews();
  const placement = new Placement(
    config.placement,
    config.hostDownAfterIntervals,
    logger.child({ component: 'placement' }),
    store.db,
    cluster?.placements,
  );
  const codis = new CodisViews();
  const failovers = new FailoverTracker(store.db);
  const state = new FleetState(
    store,
    {
      hostDownAfterIntervals: config.hostDownAfterIntervals,
      shared: cluster !== undefined,
      remoteSlackMs: config.cluster ? 2 * (PERSIST_MS + config.cluster.syncIntervalMs) : undefined,
      onRemote: (h, instances) =>
        placement.onReport(
          h,
          instances.map((i) => i.sample),
        ),
      onReport: (hostId, r, now) => {
        persistence.update(hostId, r, now);
        proxies.update(hostId, r, now);
        guard.update(hostId, r, now);
        codis.update(hostId, r, now);
        const folded = failovers.onReport({ hostId, labels: state.host(hostId)!.labels }, r, now);
        if (folded.length) ownEvents(folded);
        placement.onReport(state.host(hostId)!, r.redis);
      },
      onTransition: (h, status, now) => {
        const silentMs = now - h.lastSeenAt;
        if (status === 'down') logger.warn({ host: h.id, silentMs, intervalMs: h.intervalMs }, 'host down: no report for too long');
        else logger.info({ host: h.id }, 'host up again');
        const message =
          status === 'down'
            ? `no report for ${Math.round(silentMs / 1000)}s (${config.hostDownAfterIntervals} intervals of ${h.intervalMs}ms)`
            : 'reports resumed';
        ownEvents([eventPoint({ hostId: h.id, labels: h.labels }, `host.${status}`, message, now)]);
      },
    },
    logger,
  );
  // Hosts known from before a restart are in the table (candidates while their last report is fresh).
  for (const h of state.allHosts())
    placement.onReport(
      h,
      state.instancesOf(h).map((i) => i.sample),
    );
  placement.restore();
  try {
    await cluster?.start({ state, alerting, placement });
  } catch (err) {
    await cluster?.close();
    store.close();
    throw err;
  }

  const tokens = new TokenChecker(config.grpc.tokenFile, config.grpc.tokens, logger);
  const grpcServer = new FleetGrpcServer(
    {
      listen: config.grpc.listen,
      maxMessageBytes: config.grpc.maxMessageBytes,
      tls: config.grpc.tls,
      reportForm2: config.grpc.reportForm2,
    },
    { state, sink, tokens, logger, collectorVersion: COLLECTOR_VERSION },
  );
  // The collector's own storage events reach the alerts even when the sink has no room for them.
  const storage = new StorageWatch(
    rawSink,
    grpcServer,
    (points, store) => {
      alerting?.onPoints(points);
      if (store) rawSink.offer(points);
    },
    logger,
  );
  const apiTokens = new ApiTokens(config.http.tokenFile, config.http.apiTokens, logger);
  if (!config.http.tokenFile) logger.warn('no http.tokenFile: every /api call is refused (see README, API tokens)');
  // In a cluster the audit log is shared, so GET /api/v1/audit on any collector lists every entry.
  const audit = cluster ? new PgAuditStore(cluster.pool, config.http.audit) : new SqliteAuditStore(store.db, config.http.audit);
  const apiTls = config.http.tls ? new ApiTls(config.http.tls, logger) : undefined;
  const metrics = collectorMetrics({ sink, grpc: grpcServer, hosts: () => state.hostCount, alerting, cluster });
  const api = buildApi(
    {
      state,
      sink,
      logger,
      persistence,
      proxies,
      guard,
      alerting,
      placement,
      codis,
      storage,
      failovers,
      access: { tokens: apiTokens, audit },
      cluster,
      metrics,
    },
    { https: apiTls?.options() },
  );
  apiTls?.watch(api.server);

  let grpcAddress: string;
  let httpUrl: string;
  try {
    grpcAddress = await grpcServer.listen().catch((err: Error) => {
      throw new ConfigError('grpc.listen', `cannot listen on ${config.grpc.listen.host}:${config.grpc.listen.port}: ${err.message}`);
    });
    httpUrl = await listenApi(api, config.http.listen).catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(
        'http.listen',
        `cannot listen on ${config.http.listen.host}:${config.http.listen.port}: ${err.code ?? err.message}`,
      );
    });
  } catch (err) {
    await grpcServer.close(0).catch(() => undefined);
    await api.close().catch(() => undefined);
    await cluster?.close();
    apiTokens.close();
    store.close();
    throw err;
  }

  state.listening();
  storage.start();
  influx?.start();
  history?.start();
  alerting?.start();
  // Host-silence detection is a fleet-wide duty: in a cluster, the leader's.
  const transitionTimer = setInterval(() => {
    if (!cluster || cluster.isLeader) state.checkTransitions();
  }, TRANSITION_CHECK_MS);
  const persistTimer = setInterval(() => state.persist(), PERSIST_MS);
  transitionTimer.unref();
  persistTimer.unref();

  logger.info(
    {
      grpc: grpcAddress,
      grpcTls: config.grpc.tls ? (config.grpc.tls.mutual ? 'mutual' : 'on') : 'off',
      http: httpUrl,
      sink: sink.kind,
      store: config.store.path,
      version: COLLECTOR_VERSION,
      cluster: cluster?.id,
    },
    'listening',
  );

  let closing: Promise<void> | undefined;
  return {
    grpcAddress,
    httpUrl,
    sinkKind: sink.kind,
    sinkStats: () => sink.stats(),
    drain: (timeoutMs) => sink.drain(timeoutMs),
    queryPoints(q) {
      if (!history) throw new Error('queryPoints: the metrics are in InfluxDB, not in the embedded store');
      return history.queryPoints(q);
    },
    reloadRules: () => alerting?.reload() ?? { ok: false, rules: 0, error: 'alerting is disabled' },
    close() {
      closing ??= (async () => {
        clearInterval(transitionTimer);
        clearInterval(persistTimer);
        storage.stop();
        await grpcServer.close();
        apiTls?.close();
        await api.close();
        apiTokens.close();
        await alerting?.close();
        state.persist(Date.now(), true);
        await cluster?.close();
        await sink.close();
        store.close();
        logger.info('collector stopped');
      })();
      return closing;
    },
  };
}
