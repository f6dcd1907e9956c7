// A real single-node VictoriaMetrics (Debian victoria-metrics) with its storage dir and port
// private to the test.
import path from 'node:path';
import { launch, type Owner } from './launch.js';
import { freePort, LOOPBACK } from './ports.js';
import type { ManagedProcess } from './process.js';
import { HarnessServer } from './server.js';

export const VICTORIA_METRICS = '/usr/bin/victoria-metrics';

export interface VictoriaOptions {
  /** Readiness timeout, default 30 s. */
  timeoutMs?: number;
  /** Extra command-line flags. */
  args?: string[];
}

/** One series of a Prometheus API answer (query, query_range). */
export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export class VictoriaServer extends HarnessServer {
  readonly host = LOOPBACK;
  readonly port: number;
  readonly dir: string;
  private constructor(owner: Owner, init: { port: number; dir: string; proc: ManagedProcess }) {
    super(owner, init.proc);
    this.port = init.port;
    this.dir = init.dir;
  }

  /** "http://127.0.0.1:port" */
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  static async start(owner: Owner, opts: VictoriaOptions = {}): Promise<VictoriaServer> {
    const dir = await owner.tempDir('victoria');
    let port = 0;
    const proc = await launch(owner, {
      name: 'victoria-metrics',
      timeoutMs: opts.timeoutMs ?? 30_000,
      prepare: async () => {
        port = await freePort();
        return {
          command: VICTORIA_METRICS,
          args: [
            `-storageDataPath=${path.join(dir, 'data')}`,
            `-httpListenAddr=${LOOPBACK}:${port}`,
            '-retentionPeriod=1d',
            '-loggerLevel=WARN',
            '-search.disableCache',
            // Samples are searchable as soon as they are written (no 30 s "latency offset").
            '-search.latencyOffset=0s',
            ...(opts.args ?? []),
          ],
          cwd: dir,
          logFile: path.join(dir, 'victoria-metrics.log'),
        };
      },
      ready: () => healthOk(port),
    });
    return new VictoriaServer(owner, { port, dir, proc });
  }

  /** GET a Prometheus-API path; returns `data`, throws on HTTP or API errors. */
  async api<T>(pathname: string, params: Record<string, string | string[]>): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
    const res = await fetch(`${this.url}${pathname}`, { method: 'POST', body: q });
    const text = await res.text();
    const body = (() => {
      try {
        return JSON.parse(text) as { status: string; data: T; error?: string };
      } catch {
        return undefined;
      }
    })();
    if (!res.ok || body?.status !== 'success')
      throw new Error(`victoria-metrics ${pathname} ${JSON.stringify(params)} → HTTP ${res.status}: ${body?.error ?? text.slice(0, 300)}`);
    return body.data;
  }

  /** A range query (as Grafana's panels run them) over the last `rangeS` seconds. */
  async queryRange(expr: string, rangeS = 3600, stepS = 10): Promise<PromSeries[]> {
    const end = Date.now() / 1000;
    return (
      await this.api<{ result: PromSeries[] }>('/api/v1/query_range', {
        query: expr,
        start: String(end - rangeS),
        end: String(end),
        step: `${stepS}s`,
      })
    ).result;
  }

  /** An instant query at now (as Grafana's table panels run them). */
  async query(expr: string): Promise<PromSeries[]> {
    return (await this.api<{ result: PromSeries[] }>('/api/v1/query', { query: expr })).result;
  }

  /** The values of one label among the series `match` selects, over the last `rangeS` seconds (Grafana's label_values()). */
  async labelValues(label: string, match: string, rangeS = 3600): Promise<string[]> {
    const end = Date.now() / 1000;
    return this.api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values`, {
      'match[]': match,
      start: String(end - rangeS),
      end: String(end),
    });
  }

  /** POST /write with line protocol (ms precision); throws unless 204. */
  async write(lines: string | string[], db?: string): Promise<void> {
    const body = Array.isArray(lines) ? lines.join('\n') : lines;
    const res = await fetch(`${this.url}/write?${new URLSearchParams({ precision: 'ms', ...(db ? { db } : {}) })}`, {
      method: 'POST',
      body,
    });
    if (res.status !== 204) throw new Error(`victoria-metrics /write → HTTP ${res.status}: ${await res.text()}`);
  }
}

async function healthOk(port: number): Promise<boolean> {
  const res = await fetch(`http://${LOOPBACK}:${port}/health`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === 200;
}
