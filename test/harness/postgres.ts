// A real PostgreSQL server (Debian `postgresql`): initdb into the temp dir, then `postgres` on a
// free loopback port with fsync off (test data). PostgreSQL refuses to run as root, so when the
// tests run as root both run as the `postgres` system user (setpriv, no extra fork: the pid stays
// the server's), owning the temp dir.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { launch, type Owner } from './launch.js';
import { freePort, LOOPBACK } from './ports.js';
import type { ManagedProcess } from './process.js';
import { HarnessServer } from './server.js';

export interface PostgresOptions {
  /** Readiness timeout, default 60 s. */
  timeoutMs?: number;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
}

/** The newest installed PostgreSQL's bin directory. */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql/<version>/bin): apt-get install postgresql');
  return path.join(root, versions[0]!, 'bin');
}

/** As root: run as the `postgres` user (uid, gid); otherwise as ourselves. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

function wrap(command: string, args: string[], as: { uid: number; gid: number } | undefined): { command: string; args: string[] } {
  if (!as) return { command, args };
  return { command: '/usr/bin/setpriv', args: [`--reuid=${as.uid}`, `--regid=${as.gid}`, '--clear-groups', command, ...args] };
}

export class PostgresServer extends HarnessServer {
  readonly host = LOOPBACK;
  readonly port: number;
  readonly dir: string;
  readonly user = 'redisfleet';
  readonly database = 'redisfleet';
  /** The password of `user` (scram-sha-256), also in `passwordFile`. */
  readonly password: string;
  readonly passwordFile: string;
  readonly logFile: string;

  private constructor(owner: Owner, init: { port: number; dir: string; password: string; passwordFile: string; proc: ManagedProcess }) {
    super(owner, init.proc);
    this.port = init.port;
    this.dir = init.dir;
    this.password = init.password;
    this.passwordFile = init.passwordFile;
    this.logFile = init.proc.logFile;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** The collector's `cluster.postgres` section for this server. */
  get collectorConfig(): Record<string, unknown> {
    return { host: this.host, port: this.port, user: this.user, database: this.database, passwordFile: this.passwordFile };
  }

  static async start(owner: Owner, opts: PostgresOptions = {}): Promise<PostgresServer> {
    const dir = await owner.tempDir('postgres');
    const as = runAs();
    const bin = postgresBin();
    const data = path.join(dir, 'data');
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    const passwordFile = path.join(dir, 'password');
    await fsp.writeFile(passwordFile, password + '\n', { mode: 0o600 });
    if (as) {
      await fsp.chown(dir, as.uid, as.gid);
      await fsp.chown(passwordFile, as.uid, as.gid);
    }
    const init = wrap(
      path.join(bin, 'initdb'),
      ['-D', data, '-U', 'redisfleet', `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
      as,
    );
    try {
      execFileSync(init.command, init.args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      throw new Error(`initdb failed: ${e.stderr?.toString() || e.message}`);
    }
    let port = 0;
    const settings: Record<string, string | number> = {
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_buffers: '32MB',
      max_connections: 100,
      unix_socket_directories: dir,
      listen_addresses: LOOPBACK,
      ...opts.settings,
    };
    const proc = await launch(owner, {
      name: 'postgres',
      timeoutMs: opts.timeoutMs ?? 60_000,
      prepare: async () => {
        port = await freePort();
        const args = ['-D', data, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
        const cmd = wrap(path.join(bin, 'postgres'), args, as);
        return { ...cmd, cwd: dir, logFile: path.join(dir, 'postgres.log'), env: { LC_ALL: 'C' } };
      },
      ready: () => canQuery(port, password),
    });
    const server = new PostgresServer(owner, { port, dir, password, passwordFile, proc });
    await server.query('SELECT 1');
    return server;
  }

  /** Runs one statement on a fresh connection. */
  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    const c = this.client();
    await c.connect();
    try {
      return (await c.query<T>(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  /** A new (unconnected) client on this server's database. */
  client(database = this.database): pg.Client {
    return new pg.Client({ host: this.host, port: this.port, user: this.user, password: this.password, database });
  }

  /** A fresh empty database on this server (one per test keeps tests apart); returns its name. */
  async createDatabase(name = `t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`): Promise<string> {
    await this.query(`CREATE DATABASE ${name}`);
    return name;
  }
}

async function canQuery(port: number, password: string): Promise<boolean> {
  const c = new pg.Client({ host: LOOPBACK, port, user: 'redisfleet', password, database: 'postgres', connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    // The bootstrap database `redisfleet` does not exist yet: created on the first successful connection.
    const r = await c.query("SELECT 1 FROM pg_database WHERE datname = 'redisfleet'");
    if (!r.rowCount) await c.query('CREATE DATABASE redisfleet');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}
