// The `cluster` section: several collectors sharing one fleet. Shared state on PostgreSQL,
// one leader for the fleet-wide duties elected through ZooKeeper (collector/cluster/README.md).
import os from 'node:os';
import { ConfigError, parseDuration, readSecret, validate } from '../../common/index.js';

export interface PostgresConfig {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Never logged. */
  password?: string;
  poolSize: number;
  connectTimeoutMs: number;
}

export interface ClusterConfig {
  /** This collector's name in the cluster (leader znode data, the `writer` of its rows). */
  id: string;
  postgres: PostgresConfig;
  zookeeper: { servers: string; path: string; sessionTimeoutMs: number };
  /** How often the shared state is written and the others' changes read. */
  syncIntervalMs: number;
}

interface RawCluster {
  id?: string;
  postgres?: {
    host: string;
    port: number;
    database: string;
    user: string;
    passwordFile?: string;
    passwordEnv?: string;
    password?: string;
    poolSize: number;
    connectTimeout: string | number;
  };
  zookeeper?: { servers: string; path: string; sessionTimeout: string | number };
  syncInterval: string | number;
}

const duration = { type: ['string', 'number'] };
const str = { type: 'string', minLength: 1 };

export const CLUSTER_DEFAULTS = {
  port: 5432,
  database: 'redisfleet',
  poolSize: 8,
  connectTimeout: '5s',
  zkPath: '/redis-fleet/collectors',
  sessionTimeout: '4s',
  syncInterval: '500ms',
} as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { ...str, pattern: '^[A-Za-z0-9_.:-]+$' },
    postgres: {
      type: 'object',
      additionalProperties: false,
      required: ['host', 'user'],
      properties: {
        host: str,
        port: { type: 'integer', minimum: 1, maximum: 65535, default: CLUSTER_DEFAULTS.port },
        database: { ...str, default: CLUSTER_DEFAULTS.database },
        user: str,
        passwordFile: str,
        passwordEnv: str,
        password: { type: 'string' },
        poolSize: { type: 'integer', minimum: 2, maximum: 100, default: CLUSTER_DEFAULTS.poolSize },
        connectTimeout: { ...duration, default: CLUSTER_DEFAULTS.connectTimeout },
      },
    },
    zookeeper: {
      type: 'object',
      additionalProperties: false,
      required: ['servers'],
      properties: {
        servers: str,
        path: { ...str, pattern: '^/[^\\s]*[^/\\s]$', default: CLUSTER_DEFAULTS.zkPath },
        sessionTimeout: { ...duration, default: CLUSTER_DEFAULTS.sessionTimeout },
      },
    },
    syncInterval: { ...duration, default: CLUSTER_DEFAULTS.syncInterval },
  },
} as const;

/** `grpcPort` names the default id (`<hostname>-<port>`) so two collectors on one host differ. */
export function resolveClusterConfig(data: unknown, grpcPort: number): ClusterConfig {
  // Wrapped so that validation errors name the key from the root (cluster.postgres.port).
  const raw = validate<{ cluster: RawCluster }>({ type: 'object', properties: { cluster: schema } } as never, {
    cluster: data ?? {},
  }).cluster;
  if (!raw.postgres) throw new ConfigError('cluster.postgres', 'is required: the collectors share their state on PostgreSQL');
  if (!raw.zookeeper) throw new ConfigError('cluster.zookeeper', 'is required: the collectors elect their leader through ZooKeeper');
  const p = raw.postgres;
  const password = readSecret({ file: p.passwordFile, env: p.passwordEnv, value: p.password }, 'cluster.postgres.password');
  const sessionTimeoutMs = parseDuration(raw.zookeeper.sessionTimeout, 'cluster.zookeeper.sessionTimeout');
  if (sessionTimeoutMs < 1000 || sessionTimeoutMs > 60_000)
    throw new ConfigError('cluster.zookeeper.sessionTimeout', 'must be between 1s and 60s');
  const syncIntervalMs = parseDuration(raw.syncInterval, 'cluster.syncInterval');
  if (syncIntervalMs < 50 || syncIntervalMs > 10_000) throw new ConfigError('cluster.syncInterval', 'must be between 50ms and 10s');
  return {
    id: raw.id ?? `${os.hostname()}-${grpcPort}`,
    postgres: {
      host: p.host,
      port: p.port,
      database: p.database,
      user: p.user,
      password,
      poolSize: p.poolSize,
      connectTimeoutMs: parseDuration(p.connectTimeout, 'cluster.postgres.connectTimeout'),
    },
    zookeeper: { servers: raw.zookeeper.servers, path: raw.zookeeper.path, sessionTimeoutMs },
    syncIntervalMs,
  };
}
