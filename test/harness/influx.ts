// A real InfluxDB 1.6 (Debian influxd) with every directory and port private to the test.
import fs from 'node:fs/promises';
import path from 'node:path';
import { launch, type Owner } from './launch.js';
import { freePort, LOOPBACK } from './ports.js';
import type { ManagedProcess } from './process.js';
import { HarnessServer } from './server.js';

export const INFLUXD = '/usr/bin/influxd';

export interface InfluxOptions {
  /** Readiness timeout, default 30 s. */
  timeoutMs?: number;
  /** Extra TOML appended to the generated config. */
  extraConfig?: string;
}

/** InfluxDB /query result (parsed JSON). */
export interface InfluxQueryResult {
  results: Array<{
    statement_id?: number;
    error?: string;
    series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }>;
  }>;
  error?: string;
}

export class InfluxServer extends HarnessServer {
  readonly host = LOOPBACK;
  readonly port: number;
  /** The RPC (backup/restore) port, also private. */
  readonly rpcPort: number;
  readonly dir: string;
  /** influxd writes its log to stderr; captured here. */
  readonly logFile: string;
  readonly configPath: string;
  private constructor(owner: Owner, init: { port: number; rpcPort: number; dir: string; configPath: string; proc: ManagedProcess }) {
    super(owner, init.proc);
    this.port = init.port;
    this.rpcPort = init.rpcPort;
    this.dir = init.dir;
    this.configPath = init.configPath;
    this.logFile = init.proc.logFile;
  }

  /** "http://127.0.0.1:port" */
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  static async start(owner: Owner, opts: InfluxOptions = {}): Promise<InfluxServer> {
    const dir = await owner.tempDir('influx');
    const configPath = path.join(dir, 'influxdb.conf');
    let port = 0;
    let rpcPort = 0;
    const proc = await launch(owner, {
      name: 'influxd',
      timeoutMs: opts.timeoutMs ?? 30_000,
      prepare: async () => {
        port = await freePort();
        rpcPort = await freePort();
        await fs.writeFile(configPath, influxConf(dir, port, rpcPort, opts.extraConfig));
        return { command: INFLUXD, args: ['run', '-config', configPath], cwd: dir, logFile: path.join(dir, 'influxd.log') };
      },
      ready: () => pingOk(port),
    });
    return new InfluxServer(owner, { port, rpcPort, dir, configPath, proc });
  }

  /** POST /query (works for SELECT, SHOW and CREATE/DROP alike); returns the parsed JSON. Throws on HTTP errors. */
  async query(q: string, db?: string): Promise<InfluxQueryResult> {
    const body = new URLSearchParams({ q, ...(db ? { db } : {}), epoch: 'ms' });
    const res = await fetch(`${this.url}/query`, { method: 'POST', body });
    const text = await res.text();
    if (!res.ok) throw new Error(`influx /query ${JSON.stringify(q)} → HTTP ${res.status}: ${text}`);
    return JSON.parse(text) as InfluxQueryResult;
  }

  /** query() flattened: one object per row, tags merged in, plus `_measurement`. Throws on statement errors. */
  async rows(q: string, db?: string): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    for (const result of (await this.query(q, db)).results) {
      if (result.error) throw new Error(`influx ${JSON.stringify(q)}: ${result.error}`);
      for (const s of result.series ?? []) {
        for (const values of s.values) {
          const row: Record<string, unknown> = { _measurement: s.name, ...s.tags };
          s.columns.forEach((c, i) => {
            row[c] = values[i];
          });
          out.push(row);
        }
      }
    }
    return out;
  }

  async createDatabase(db: string): Promise<void> {
    await this.rows(`CREATE DATABASE ${JSON.stringify(db)}`);
  }

  /** POST /write with line protocol; throws unless 204. */
  async write(lines: string | string[], db: string, precision: 'ns' | 'u' | 'ms' | 's' = 'ms'): Promise<void> {
    const body = Array.isArray(lines) ? lines.join('\n') : lines;
    const res = await fetch(`${this.url}/write?${new URLSearchParams({ db, precision })}`, { method: 'POST', body });
    if (res.status !== 204) throw new Error(`influx /write → HTTP ${res.status}: ${await res.text()}`);
  }

  /** Stops and starts again on the same ports with the same data. */
  async restart(): Promise<void> {
    await this.stop();
    await this.relaunch({
      name: 'influxd',
      timeoutMs: 30_000,
      spawn: () => ({ command: INFLUXD, args: ['run', '-config', this.configPath], cwd: this.dir, logFile: this.logFile }),
      ready: () => pingOk(this.port),
    });
  }
}

async function pingOk(port: number): Promise<boolean> {
  const res = await fetch(`http://${LOOPBACK}:${port}/ping`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === 204;
}

function influxConf(dir: string, port: number, rpcPort: number, extra = ''): string {
  const q = (p: string) => JSON.stringify(path.join(dir, p));
  return `reporting-disabled = true
bind-address = "${LOOPBACK}:${rpcPort}"

[meta]
  dir = ${q('meta')}
  retention-autocreate = true
  logging-enabled = true

[data]
  dir = ${q('data')}
  wal-dir = ${q('wal')}
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "${LOOPBACK}:${port}"
  auth-enabled = false
  log-enabled = true
  pprof-enabled = false

[logging]
  format = "logfmt"
  level = "info"
  suppress-logo = true
${extra}
`;
}
