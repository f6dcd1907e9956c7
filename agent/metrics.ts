// Opt-in GET /metrics (metrics.listen): the agent's own health in the Prometheus text format,
// behind a bearer token (metrics.tokenFile). Values are read on scrape from the link's and
// the tick loop's own counters.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../common/index.js';
import type { AgentRunStats } from './agent.js';

const PREFIX = 'redis_fleet_agent_';

export interface AgentMetricsSource {
  stats(): AgentRunStats;
}

export function agentMetrics(src: AgentMetricsSource): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: PREFIX });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name: PREFIX + name,
      help,
      registers: [r],
      collect() {
        this.set(read());
      },
    });
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name: PREFIX + name,
      help,
      registers: [r],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  gauge('buffered_reports', 'Reports buffered, not yet acked by the collector.', () => src.stats().bufferedReports);
  gauge('buffered_bytes', 'Bytes of the buffered reports.', () => src.stats().bufferedBytes);
  counter('dropped_reports_total', 'Reports dropped (buffer full, oldest first, or too large to send).', () => src.stats().droppedReports);
  counter('reconnects_total', 'Reconnections to the collector.', () => src.stats().reconnects);
  gauge('collector_connected', '1 while a stream to the collector is open.', () => (src.stats().connected ? 1 : 0));
  counter('ticks_total', 'Ticks run.', () => src.stats().ticks);
  counter('skipped_ticks_total', 'Ticks skipped because the previous one was still running.', () => src.stats().skippedTicks);
  gauge('last_tick_cpu_ms', 'CPU time (user + system) of the last tick, in milliseconds.', () => src.stats().lastTickCpuMs);
  gauge('last_tick_ms', 'Wall time of the last tick, in milliseconds.', () => src.stats().lastTickMs);
  new Gauge({
    name: `${PREFIX}instances`,
    help: 'Redis instances by their last sample (up, down).',
    labelNames: ['status'],
    registers: [r],
    collect() {
      const st = src.stats();
      this.set({ status: 'up' }, st.instancesUp);
      this.set({ status: 'down' }, st.instancesDown);
    },
  });
  return r;
}

const digest = (s: string): Buffer => crypto.createHash('sha256').update(s).digest();

/** Serves GET /metrics on `listen`; anything else is 404, a missing or wrong token 401. */
export async function serveAgentMetrics(
  registry: Registry,
  opts: { listen: { host: string; port: number }; token: string },
  logger: Logger,
): Promise<{ address: string; close(): Promise<void> }> {
  const want = digest(opts.token);
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(body);
    };
    if ((req.url ?? '').split('?')[0] !== '/metrics' || req.method !== 'GET') return send(404, 'not found: GET /metrics\n');
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (!m || !crypto.timingSafeEqual(digest(m[1]!), want)) {
      return send(401, 'unauthorized: send "Authorization: Bearer <token>" (metrics.tokenFile)\n', {
        'www-authenticate': 'Bearer realm="redis-fleet-agent"',
      });
    }
    registry.metrics().then(
      (body) => send(200, body, { 'content-type': registry.contentType }),
      (err: Error) => {
        logger.warn({ error: err.message }, 'metrics: collecting failed');
        send(500, 'internal error\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
