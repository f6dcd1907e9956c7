// Collector configuration: the YAML in docs (interfaces.md), validated with ajv
// (unknown keys are errors, defaults filled in), then resolved: durations to ms,
// listen addresses to host/port, the token file and the InfluxDB password read.
import fs from 'node:fs';
import type { LevelWithSilent } from 'pino';
import {
  ConfigError,
  ConfigProblems,
  parseBytes,
  parseDuration,
  readSecret,
  readYamlFile,
  readTlsPem,
  validate,
  type TlsFiles,
} from '../common/index.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../proto/index.js';
import { resolveAlertingConfig, type AlertingConfig } from './alerting/index.js';
import { resolvePlacementConfig, type PlacementConfig } from './placement/index.js';
import { resolveClusterConfig, type ClusterConfig } from './cluster/config.js';
import { readApiTokenFile, type ApiTokenEntry } from './access/index.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** The engine behind the `influx` sink: both take line protocol at POST /write (collector/victoria.ts). */
export type InfluxFlavor = 'influxdb' | 'victoriametrics';

/** gRPC TLS (docs/security.md): files re-read on change; clientCa makes it mutual TLS. */
export interface GrpcTlsConfig {
  files: TlsFiles;
  /** Set when grpc.tls.clientCaFile is: agents must present a certificate signed by it. */
  mutual: boolean;
  /** Certificate identity (CN, DNS or URI SAN) → the host id it may report as; unlisted identities report as themselves. */
  hostIdMap: Record<string, string>;
}

export interface HttpTlsConfig {
  files: TlsFiles;
}

export interface InfluxConfig {
  url: string;
  flavor: InfluxFlavor;
  database: string;
  username?: string;
  password?: string;
  batchSize: number;
  flushIntervalMs: number;
  maxQueuePoints: number;
  /** Send /write bodies gzip-compressed (Content-Encoding: gzip). */
  gzip: boolean;
}

export interface CollectorConfig {
  grpc: {
    listen: ListenAddress;
    tokenFile: string;
    tokens: string[];
    maxMessageBytes: number;
    tls?: GrpcTlsConfig;
    /** Accept report form 2 (proto/form2.ts) from agents that offer it. */
    reportForm2: boolean;
  };
  http: {
    listen: ListenAddress;
    tls?: HttpTlsConfig;
    /** API tokens (collector/access/tokens.ts); without a file every /api call is refused. */
    tokenFile?: string;
    apiTokens: ApiTokenEntry[];
    audit: { retentionMs: number; maxEntries: number };
  };
  store: { path: string; historyRetentionMs: number; historyRawRetentionMs: number; maxHistoryPoints: number; historyMaxBytes: number };
  influx?: InfluxConfig;
  /** Disk spool for points InfluxDB cannot take yet (collector/spool.ts). */
  spool: { path: string; maxBytes: number; segmentBytes: number };
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
  grpc: {
    listen: string;
    tokenFile: string;
    maxMessageBytes: number;
    reportForm2: boolean;
    insecure: boolean;
    tls?: { certFile: string; keyFile: string; clientCaFile?: string; hostIdMap?: Record<string, string> };
  };
  http: {
    listen: string;
    insecure: boolean;
    tls?: { certFile: string; keyFile: string };
    tokenFile?: string;
    audit: { retention: string | number; maxEntries: number };
  };
  store: {
    path: string;
    historyRetention: string | number;
    historyRawRetention: string | number;
    maxHistoryPoints: number;
    historyMaxBytes: string | number;
  };
  influx?: {
    url: string;
    flavor: InfluxFlavor;
    database: string;
    username?: string;
    passwordFile?: string;
    passwordEnv?: string;
    password?: string;
    batchSize: number;
    flushInterval: string | number;
    maxQueuePoints: number;
    gzip: boolean;
  };
  spool: { path?: string; maxBytes: string | number; segmentBytes: string | number };
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
  historyRetention: '7d',
  historyRawRetention: '3h',
  maxHistoryPoints: 25_000_000,
  historyMaxBytes: '4gb',
  influxUrl: 'http://127.0.0.1:8086',
  influxDatabase: 'redisfleet',
  batchSize: 5000,
  flushInterval: '200ms',
  maxQueuePoints: 500_000,
  hostDownAfterIntervals: 3,
  spoolMaxBytes: '1gb',
  spoolSegmentBytes: '64mb',
  logLevel: 'info',
  auditRetention: '90d',
  auditMaxEntries: 100_000,
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
        reportForm2: { type: 'boolean', default: true },
        insecure: { type: 'boolean', default: false },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['certFile', 'keyFile'],
          properties: {
            certFile: { type: 'string', minLength: 1 },
            keyFile: { type: 'string', minLength: 1 },
            clientCaFile: { type: 'string', minLength: 1 },
            hostIdMap: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
          },
        },
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        listen: { type: 'string', default: COLLECTOR_DEFAULTS.httpListen },
        insecure: { type: 'boolean', default: false },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['certFile', 'keyFile'],
          properties: { certFile: { type: 'string', minLength: 1 }, keyFile: { type: 'string', minLength: 1 } },
        },
        tokenFile: { type: 'string', minLength: 1 },
        audit: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            retention: { ...duration, default: COLLECTOR_DEFAULTS.auditRetention },
            maxEntries: { type: 'integer', minimum: 100, default: COLLECTOR_DEFAULTS.auditMaxEntries },
          },
        },
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        path: { type: 'string', minLength: 1, default: COLLECTOR_DEFAULTS.storePath },
        historyRetention: { ...duration, default: COLLECTOR_DEFAULTS.historyRetention },
        maxHistoryPoints: { type: 'integer', minimum: 1000, default: COLLECTOR_DEFAULTS.maxHistoryPoints },
        historyRawRetention: { ...duration, default: COLLECTOR_DEFAULTS.historyRawRetention },
        historyMaxBytes: { type: ['string', 'number'], default: COLLECTOR_DEFAULTS.historyMaxBytes },
      },
    },
    influx: {
      type: 'object',
      additionalProperties: false,
      properties: {
        url: { type: 'string', default: COLLECTOR_DEFAULTS.influxUrl },
        flavor: { enum: ['influxdb', 'victoriametrics'], default: 'influxdb' },
        database: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_.-]+$', default: COLLECTOR_DEFAULTS.influxDatabase },
        username: { type: 'string', minLength: 1 },
        passwordFile: { type: 'string', minLength: 1 },
        passwordEnv: { type: 'string', minLength: 1 },
        password: { type: 'string' },
        batchSize: { type: 'integer', minimum: 1, maximum: 100_000, default: COLLECTOR_DEFAULTS.batchSize },
        flushInterval: { ...duration, default: COLLECTOR_DEFAULTS.flushInterval },
        maxQueuePoints: { type: 'integer', minimum: 1, default: COLLECTOR_DEFAULTS.maxQueuePoints },
        gzip: { type: 'boolean', default: true },
      },
    },
    spool: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        path: { type: 'string', minLength: 1 },
        maxBytes: { type: ['string', 'number'], default: COLLECTOR_DEFAULTS.spoolMaxBytes },
        segmentBytes: { type: ['string', 'number'], default: COLLECTOR_DEFAULTS.spoolSegmentBytes },
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

/** Loopback addresses: plaintext there is fine (only this host can connect). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./i.test(host);
}

function resolveGrpcTls(raw: RawConfig['grpc'], listen: ListenAddress): GrpcTlsConfig | undefined {
  if (!raw.tls) {
    if (!raw.insecure && !isLoopback(listen.host)) {
      throw new ConfigError(
        'grpc.tls',
        `is required to listen on ${raw.listen} (not loopback): set grpc.tls.certFile/keyFile, or grpc.insecure: true to accept plaintext`,
      );
    }
    return undefined;
  }
  const t = raw.tls;
  const files: TlsFiles = {
    cert: { file: t.certFile, key: 'grpc.tls.certFile' },
    key: { file: t.keyFile, key: 'grpc.tls.keyFile' },
    ca: t.clientCaFile !== undefined ? { file: t.clientCaFile, key: 'grpc.tls.clientCaFile' } : undefined,
  };
  readTlsPem(files);
  if (t.hostIdMap && t.clientCaFile === undefined) throw new ConfigError('grpc.tls.hostIdMap', 'needs grpc.tls.clientCaFile (mutual TLS)');
  return { files, mutual: t.clientCaFile !== undefined, hostIdMap: t.hostIdMap ?? {} };
}

function resolveHttpTls(raw: RawConfig['http'], listen: ListenAddress): HttpTlsConfig | undefined {
  if (!raw.tls) {
    if (!raw.insecure && !isLoopback(listen.host)) {
      throw new ConfigError(
        'http.tls',
        `is required to listen on ${raw.listen} (not loopback): set http.tls.certFile/keyFile, or http.insecure: true to serve plain HTTP`,
      );
    }
    return undefined;
  }
  const files: TlsFiles = {
    cert: { file: raw.tls.certFile, key: 'http.tls.certFile' },
    key: { file: raw.tls.keyFile, key: 'http.tls.keyFile' },
  };
  readTlsPem(files);
  return { files };
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
    flavor: raw.flavor,
    database: raw.database,
    username: raw.username,
    password,
    batchSize: raw.batchSize,
    flushIntervalMs: Math.max(10, parseDuration(raw.flushInterval, 'influx.flushInterval')),
    maxQueuePoints: Math.max(raw.maxQueuePoints, raw.batchSize),
    gzip: raw.gzip,
  };
}

function resolveSpool(raw: RawConfig['spool'], storePath: string): CollectorConfig['spool'] {
  const maxBytes = parseBytes(raw.maxBytes, 'spool.maxBytes');
  const segmentBytes = parseBytes(raw.segmentBytes, 'spool.segmentBytes');
  if (segmentBytes < 64 * 1024) throw new ConfigError('spool.segmentBytes', 'must be at least 64kb');
  if (maxBytes < segmentBytes) throw new ConfigError('spool.maxBytes', `must be at least spool.segmentBytes (${segmentBytes} bytes)`);
  return { path: raw.path ?? `${storePath}.spool`, maxBytes, segmentBytes };
}

/** `{ [key]: value }`, or nothing when the value is undefined (so configs without the key compare equal). */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/**
 * Validates an already parsed config object. Throws ConfigError naming the key; independent
 * sections are all checked first, so every mistake in the file is reported at once.
 */
export function resolveCollectorConfig(data: unknown): CollectorConfig {
  const raw = validate<RawConfig>(collectorConfigSchema, data ?? {});
  const p = new ConfigProblems();
  const retention = p.check(() => {
    const ms = parseDuration(raw.store.historyRetention, 'store.historyRetention');
    if (ms < 60_000) throw new ConfigError('store.historyRetention', 'must be at least 1m');
    return ms;
  });
  const rawRetention = p.check(() => {
    const ms = parseDuration(raw.store.historyRawRetention, 'store.historyRawRetention');
    if (ms < 60_000) throw new ConfigError('store.historyRawRetention', 'must be at least 1m');
    return ms;
  });
  const historyMaxBytes = p.check(() => {
    const b = parseBytes(raw.store.historyMaxBytes, 'store.historyMaxBytes');
    if (b !== 0 && b < 16 * 2 ** 20) throw new ConfigError('store.historyMaxBytes', 'must be 0 (no bound) or at least 16mb');
    return b;
  });
  const grpcListen = p.check(() => parseListen(raw.grpc.listen, 'grpc.listen'));
  const httpListen = p.check(() => parseListen(raw.http.listen, 'http.listen'));
  const tokens = p.check(() => readTokenFile(raw.grpc.tokenFile));
  const grpcTls = grpcListen && p.check(() => resolveGrpcTls(raw.grpc, grpcListen));
  const httpTls = httpListen && p.check(() => resolveHttpTls(raw.http, httpListen));
  const apiTokens = p.check(() => (raw.http.tokenFile === undefined ? [] : readApiTokenFile(raw.http.tokenFile)));
  const auditRetention = p.check(() => parseDuration(raw.http.audit.retention, 'http.audit.retention'));
  const influx = p.check(() => (raw.influx ? resolveInflux(raw.influx) : undefined));
  const spool = p.check(() => resolveSpool(raw.spool, raw.store.path));
  const alerting = p.check(() => resolveAlertingConfig(raw.alerting));
  const placement = p.check(() => resolvePlacementConfig(raw.placement));
  const cluster = grpcListen && p.check(() => (raw.cluster === undefined ? undefined : resolveClusterConfig(raw.cluster, grpcListen.port)));
  p.done();
  // p.done() threw unless every check passed, so the values below are all set.
  return {
    grpc: {
      listen: grpcListen!,
      tokenFile: raw.grpc.tokenFile,
      tokens: tokens!,
      maxMessageBytes: raw.grpc.maxMessageBytes,
      reportForm2: raw.grpc.reportForm2,
      ...optional('tls', grpcTls),
    },
    http: {
      listen: httpListen!,
      ...optional('tls', httpTls),
      tokenFile: raw.http.tokenFile,
      apiTokens: apiTokens!,
      audit: { retentionMs: auditRetention!, maxEntries: raw.http.audit.maxEntries },
    },
    store: {
      path: raw.store.path,
      historyRetentionMs: retention!,
      historyRawRetentionMs: Math.min(rawRetention!, retention!),
      maxHistoryPoints: raw.store.maxHistoryPoints,
      historyMaxBytes: historyMaxBytes!,
    },
    influx,
    spool: spool!,
    hostDownAfterIntervals: raw.hostDownAfterIntervals,
    log: { level: raw.log.level },
    alerting: alerting!,
    placement: placement!,
    cluster,
  };
}

/** Reads and validates the collector's YAML config file. */
export function loadCollectorConfig(file: string): CollectorConfig {
  return resolveCollectorConfig(readYamlFile(file));
}
