// The collectors' shared PostgreSQL (cluster.postgres): one pool per collector, the schema
// (created if missing, idempotent: every collector runs it at start), and a transaction helper.
// Rows other collectors must notice carry a `version` from one sequence (`changedSince` reads).
import pg from 'pg';
import { ConfigError, errorText, type Logger } from '../common/index.js';
import type { PostgresConfig } from './cluster/config.js';

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

export const PG_SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS rf_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE SEQUENCE IF NOT EXISTS rf_version;
CREATE TABLE IF NOT EXISTS fleet_hosts (
  id TEXT PRIMARY KEY, writer TEXT NOT NULL, version BIGINT NOT NULL, last_seen_at BIGINT NOT NULL, record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fleet_hosts_version ON fleet_hosts(version);
CREATE TABLE IF NOT EXISTS fleet_instances (
  id TEXT PRIMARY KEY, host TEXT NOT NULL, address TEXT NOT NULL, writer TEXT NOT NULL, version BIGINT NOT NULL,
  received_at BIGINT NOT NULL, sample TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fleet_instances_version ON fleet_instances(version);
CREATE INDEX IF NOT EXISTS fleet_instances_host ON fleet_instances(host);
CREATE TABLE IF NOT EXISTS alert_active (
  fingerprint TEXT PRIMARY KEY, writer TEXT NOT NULL, version BIGINT NOT NULL, deleted BOOLEAN NOT NULL DEFAULT false,
  updated_at BIGINT NOT NULL, record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_active_version ON alert_active(version);
CREATE TABLE IF NOT EXISTS alert_history (
  id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, fingerprint TEXT NOT NULL, alertname TEXT NOT NULL, event TEXT NOT NULL,
  labels TEXT NOT NULL, value TEXT, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_history_at ON alert_history(at);
CREATE TABLE IF NOT EXISTS alert_silences (
  id TEXT PRIMARY KEY, version BIGINT NOT NULL, ends_at BIGINT NOT NULL, record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_silences_version ON alert_silences(version);
CREATE TABLE IF NOT EXISTS alert_nlog (
  group_key TEXT NOT NULL, receiver TEXT NOT NULL, firing TEXT NOT NULL, resolved TEXT NOT NULL, at BIGINT NOT NULL,
  PRIMARY KEY (group_key, receiver)
);
CREATE TABLE IF NOT EXISTS alert_outbox (
  id BIGSERIAL PRIMARY KEY, integration TEXT NOT NULL, created_at BIGINT NOT NULL, next_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, notification TEXT NOT NULL, last_error TEXT NOT NULL DEFAULT '',
  claimed_epoch BIGINT NOT NULL DEFAULT 0, claimed_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alert_outbox_due ON alert_outbox(integration, next_at);
CREATE TABLE IF NOT EXISTS cluster_leader (id INTEGER PRIMARY KEY CHECK (id = 1), epoch BIGINT NOT NULL, holder TEXT NOT NULL, since BIGINT NOT NULL);
INSERT INTO cluster_leader (id, epoch, holder, since) VALUES (1, 0, '', 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS placements (
  request_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, placement TEXT NOT NULL, state TEXT NOT NULL, holding BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL, hold_until BIGINT NOT NULL, members TEXT NOT NULL, version BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS placements_holding ON placements(holding) WHERE holding;
CREATE TABLE IF NOT EXISTS placement_lock (id INTEGER PRIMARY KEY CHECK (id = 1));
INSERT INTO placement_lock (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS audit_log (
  id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, token TEXT NOT NULL, role TEXT NOT NULL, method TEXT NOT NULL,
  route TEXT NOT NULL, target TEXT NOT NULL, status INTEGER NOT NULL, remote TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at);
`;

// BIGINT columns come back as strings by default; every one of ours is a ms timestamp or a
// counter well inside 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** Connects, creates the schema (under an advisory lock: collectors may start together) and checks its version. */
export async function openPostgres(config: PostgresConfig, logger: Logger): Promise<PgPool> {
  const pool = new pg.Pool({
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    max: config.poolSize,
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'redis-fleet-collector',
  });
  pool.on('error', (err) => logger.warn({ error: errorText(err) }, 'postgres: idle connection failed'));
  try {
    await withTransaction(pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(7401)');
      await c.query(DDL);
      const v = await c.query<{ value: string }>("SELECT value FROM rf_meta WHERE key = 'schema_version'");
      if (!v.rowCount) await c.query("INSERT INTO rf_meta (key, value) VALUES ('schema_version', $1)", [String(PG_SCHEMA_VERSION)]);
      else if (Number(v.rows[0]!.value) > PG_SCHEMA_VERSION) {
        throw new ConfigError(
          'cluster.postgres',
          `database ${config.database} was written by a newer collector (schema ${v.rows[0]!.value}, this one knows ${PG_SCHEMA_VERSION})`,
        );
      }
    });
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof ConfigError) throw err;
    const where = `${config.host}:${config.port}/${config.database} as ${config.user}`;
    throw new ConfigError('cluster.postgres', `cannot use ${where}: ${errorText(err)}`);
  }
  return pool;
}

/** Runs `fn` in one transaction on one connection (rolled back when it throws). */
export async function withTransaction<T>(pool: PgPool, fn: (c: PgClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
