// Collector configuration: the YAML in docs (interfaces.md), validated with ajv
// (unknown keys are errors, defaults filled in), then resolved: durations to ms,
// listen addresses to host/port, the token file and the InfluxDB password read.
import fs from 'node:fs';
import type { LevelWithSilent } from 'pino';
import { ConfigError, parseDuration, readSecret, readYamlFile, validate } from '../common/index.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../proto/index.js';
import { resolveAlertingConfig, type AlertingConfig } from './alerting/index.js';
import { resolvePlacementConfig, type PlacementConfig } from './placement/index.js';
import { resolveClusterConfig, type ClusterConfig } from './cluster/config.js';

export interface ListenAddress { host: string; port: number }

export interface InfluxConfig {
  url: string;
  database: string;
  username?: string;
  password?: string;
  batchSize: number;
  flushIntervalMs: number;
  maxQueuePoints: number;
}

export interface CollectorConfig {
  grpc: { listen: ListenAddress; tokenFile: string; tokens: string[]; maxMessageBytes: number };
  http: { listen: ListenAddress };
  store: { path: string; historyRetentionMs: number; maxHistoryPoints: number };
  influx?: InfluxConfig;
  hostDownAfterIntervals: number;
  log: { level: LevelWithSilent };
  /** Rules, routes, receivers (collector/alerting/README.md). */
  alerting: AlertingConfig;
  /** Reservations, per-role thresholds, profiles (docs/placement.md). */
  placement: PlacementConfig;
  /** Several collectors on shared PostgreSQL with a ZooKeeper-elected leader (collector/cluster/README.md). */
  cluster?: ClusterConfig;
}

/** The YAML as written (after defaults), before resolution. */
interface RawConfig {
  grpc: { listen: string; tokenFile: string; maxMessageBytes: number };
  http: { listen: string };
  store: { path: string; historyRetention: string | number; maxHistoryPoints: number };
  influx?: {
    url: string; database: string; username?: string;
    passwordFile?: string; passwordEnv?: string; password?: string;
    batchSize: number; flushInterval: string | number; maxQueuePoints: number;
  };
  hostDownAfterIntervals: number;
  log: { level: LevelWithSilent };
  alerting?: unknown;
  placement?: unknown;
  cluster?: unknown;
}

export const COLLECTOR_DEFAULTS = {
  grpcListen: '127.0.0.1:7400',
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  httpListen: '127.0.0.1:7401',
  storePath: '/var/lib/redis-fleet/collector.db',
  historyRetention: '24h',
  maxHistoryPoints: 2_000_000,
  influxUrl: 'http://127.0.0.1:8086',
  influxDatabase: 'redisfleet',
  batchSize: 5000,
  flushInterval: '1s',
  maxQueuePoints: 500_000,
  hostDownAfterIntervals: 3,
  logLevel: 'info',
} as const;

const duration = { type: ['string', 'number'] };

export const collectorConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['grpc'],
  properties: {
    grpc: {
      type: 'object',
      additionalProperties: false,
      required: ['tokenFile'],
      properties: {
        listen: { type: 'string', default: COLLECTOR_DEFAULTS.grpcListen },
        tokenFile: { type: 'string', minLength: 1 },
        maxMessageBytes: { type: 'integer', minimum: 1024, maximum: 2 ** 31 - 1, default: COLLECTOR_DEFAULTS.maxMessageBytes },
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { listen: { type: 'string', default: COLLECTOR_DEFAULTS.httpListen } },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        path: { type: 'string', minLength: 1, default: COLLECTOR_DEFAULTS.storePath },
        historyRetention: { ...duration, default: COLLECTOR_DEFAULTS.historyRetention },
        maxHistoryPoints: { type: 'integer', minimum: 1000, default: COLLECTOR_DEFAULTS.maxHistoryPoints },
      },
    },
    influx: {
      type: 'object',
      additionalProperties: false,
      properties: {
        url: { type: 'string', default: COLLECTOR_DEFAULTS.influxUrl },
        database: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_.-]+$', default: COLLECTOR_DEFAULTS.influxDatabase },
        username: { type: 'string', minLength: 1 },
        passwordFile: { type: 'string', minLength: 1 },
        passwordEnv: { type: 'string', minLength: 1 },
        password: { type: 'string' },
        batchSize: { type: 'integer', minimum: 1, maximum: 100_000, default: COLLECTOR_DEFAULTS.batchSize },
        flushInterval: { ...duration, default: COLLECTOR_DEFAULTS.flushInterval },
        maxQueuePoints: { type: 'integer', minimum: 1, default: COLLECTOR_DEFAULTS.maxQueuePoints },
      },
    },
    hostDownAfterIntervals: { type: 'integer', minimum: 1, maximum: 1000, default: COLLECTOR_DEFAULTS.hostDownAfterIntervals },
    alerting: { type: 'object' },
    placement: { type: 'object' },
    cluster: { type: 'object' },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: {
          enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          default: COLLECTOR_DEFAULTS.logLevel,
        },
      },
    },
  },
} as const;

/** host:port (IPv6 as [::1]:port); unlike parseHostPort, port 0 means "pick a free one". */
export function parseListen(v: string, key: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(v.trim());
  const port = m ? Number(m[3]) : -1;
  if (!m || port > 65535) throw new ConfigError(key, `must be host:port, port 0 picks a free one (got ${JSON.stringify(v)})`);
  return { host: (m[1] ?? m[2])!, port };
}

/** One accepted token per line; blank lines and # comments ignored. */
export function readTokenFile(file: string, key = 'grpc.tokenFile'): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(key, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const tokens: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    if (/\s/.test(t)) throw new ConfigError(key, `file ${file} has a token containing whitespace (one token per line)`);
    tokens.push(t);
  }
  if (tokens.length === 0) throw new ConfigError(key, `file ${file} holds no token (one token per line)`);
  return tokens;
}

function resolveInflux(raw: NonNullable<RawConfig['influx']>): InfluxConfig {
  let url: URL;
  try {
    url = new URL(raw.url);
  } catch {
    throw new ConfigError('influx.url', `must be a URL like http://127.0.0.1:8086 (got ${JSON.stringify(raw.url)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('influx.url', `must use http or https (got ${url.protocol.replace(/:$/, '')})`);
  }
  const password = readSecret({ file: raw.passwordFile, env: raw.passwordEnv, value: raw.password }, 'influx.password');
  if (password !== undefined && raw.username === undefined) {
    throw new ConfigError('influx.username', 'is required when a password is given');
  }
  return {
    url: raw.url,
    database: raw.database,
    username: raw.username,
    password,
    batchSize: raw.batchSize,
    flushIntervalMs: Math.max(10, parseDuration(raw.flushInterval, 'influx.flushInterval')),
    maxQueuePoints: Math.max(raw.maxQueuePoints, raw.batchSize),
  };
}

/** Validates an already parsed config object (throws ConfigError naming the key). */
export function resolveCollectorConfig(data: unknown): CollectorConfig {
  const raw = validate<RawConfig>(collectorConfigSchema, data ?? {});
  const retention = parseDuration(raw.store.historyRetention, 'store.historyRetention');
  if (retention < 60_000) throw new ConfigError('store.historyRetention', 'must be at least 1m');
  const grpcListen = parseListen(raw.grpc.listen, 'grpc.listen');
  return {
    grpc: {
      listen: grpcListen,
      tokenFile: raw.grpc.tokenFile,
      tokens: readTokenFile(raw.grpc.tokenFile),
      maxMessageBytes: raw.grpc.maxMessageBytes,
    },
    http: { listen: parseListen(raw.http.listen, 'http.listen') },
    store: { path: raw.store.path, historyRetentionMs: retention, maxHistoryPoints: raw.store.maxHistoryPoints },
    influx: raw.influx ? resolveInflux(raw.influx) : undefined,
    hostDownAfterIntervals: raw.hostDownAfterIntervals,
    log: { level: raw.log.level },
    alerting: resolveAlertingConfig(raw.alerting),
    placement: resolvePlacementConfig(raw.placement),
    cluster: raw.cluster === undefined ? undefined : resolveClusterConfig(raw.cluster, grpcListen.port),
  };
}

/** Reads and validates the collector's YAML config file. */
export function loadCollectorConfig(file: string): CollectorConfig {
  return resolveCollectorConfig(readYamlFile(file));
}
