// The agent's YAML config (docs: interfaces.md "Agent config"): schema, defaults and
// the resolved form the agent runs on. Every problem is a ConfigError naming the key.
import fs from 'node:fs';
import os from 'node:os';
import {
  ConfigError,
  ConfigProblems,
  parseDuration,
  parseHostPort,
  readSecret,
  readTlsPem,
  readYamlFile,
  validate,
  type TlsFiles,
} from '../common/index.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../proto/index.js';
import {
  configFromYaml,
  instanceOptionsFromYaml,
  instancePersistenceYamlSchema,
  persistenceYamlSchema,
  type InstancePersistenceYaml,
  type PersistenceConfig,
  type PersistencePolicy,
  type PersistenceYaml,
} from './persistence/index.js';
import {
  guardConfigFromYaml,
  guardYamlSchema,
  instanceGuardYamlSchema,
  type GuardConfig,
  type GuardYaml,
  type InstanceGuardOptions,
} from '../sentinel-guard/index.js';

export const AGENT_ROLES = ['redis', 'proxy', 'dashboard'] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const AGENT_DEFAULTS = {
  interval: '10s',
  minIntervalMs: 100,
  dataPath: '/',
  roles: ['redis'] as AgentRole[],
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  bufferMaxReports: 8640,
  bufferMaxBytes: 268_435_456,
  logLevel: 'info' as LogLevel,
  statusFile: '/run/redis-fleet/agent-status.json',
};

export interface HostPort {
  host: string;
  port: number;
  address: string;
}

export interface RedisInstanceConfig extends HostPort {
  user?: string;
  /** Never logged; only handed to the Redis client. */
  password?: string;
  cluster: string;
  group: string;
  /** `redis[].persistence`: leave this instance's triggers alone, or override its policy. */
  persistence?: { optOut: boolean; policyOverride: Partial<PersistencePolicy> };
  /** `redis[].guard`: Sentinel name / master znode / opt-out for sentinel-guard. */
  guard?: InstanceGuardOptions;
}

export type ProxyConfig =
  | {
      kind: 'codis';
      adminAddress: string;
      name: string;
      productName?: string;
      /** Never logged. */ productAuth?: string;
      maxClients?: number;
      timeoutMs: number;
    }
  | { kind: 'twemproxy'; statsAddress: string; name: string; statsIntervalMs: number; configFile?: string; timeoutMs: number };

/** A codis-dashboard to poll (`dashboards[]`). */
export interface DashboardConfig {
  adminAddress: string;
  name: string;
  productName?: string;
  timeoutMs: number;
}
/** `sentinels[]`: a Sentinel the agent subscribes to and samples (with or without the guard). */
export interface SentinelConfig {
  address: string;
  /** Never logged; the Sentinel's requirepass. */
  password?: string;
}

export const NUTCRACKER_DEFAULT_STATS_INTERVAL = '30s';

export interface DiscoveryCredentialRule {
  /** "6379-6390,7000"; absent = any port. */
  ports?: string;
  /** Discovered instances matching this rule get this cluster tag. */
  cluster?: string;
  user?: string;
  /** Never logged. */
  password?: string;
}

export interface DiscoveryConfig {
  /** Scan /proc for local redis-server, redis-sentinel, nutcracker and codis-proxy (default true). */
  enabled: boolean;
  intervalMs: number;
  /** First matching rule wins. */
  credentials: DiscoveryCredentialRule[];
}

export const DISCOVERY_DEFAULT_INTERVAL = '5m';

export interface AgentPersistenceConfig {
  /** Off unless `persistence.enabled: true`: taking over a Redis's save policy is opt-in per host. */
  enabled: boolean;
  /** On SIGTERM / stop(), hand every managed instance its own save / AOF-rewrite triggers back. */
  restoreTriggersOnStop: boolean;
  scheduler: PersistenceConfig;
}

export interface AgentConfig {
  hostId: string;
  labels: Record<string, string>;
  roles: AgentRole[];
  intervalMs: number;
  dataPath: string;
  instanceSlots: number;
  collector: {
    addresses: HostPort[];
    /** A fallback collector keeps the host this long before the preferred one is tried again. */
    failbackMs: number;
    /** Never logged; sent only as the gRPC authorization metadata. */
    token: string;
    maxMessageBytes: number;
    /** TLS to the collector (collector.tls); files re-read on change. */
    tls?: { files: TlsFiles; serverName?: string };
  };
  buffer: { maxReports: number; maxBytes: number };
  redis: RedisInstanceConfig[];
  proxies: ProxyConfig[];
  dashboards: DashboardConfig[];
  /** Sentinels to watch and sample (discovered ones are added at run time). */
  sentinels: SentinelConfig[];
  discovery: DiscoveryConfig;
  persistence: AgentPersistenceConfig;
  /** sentinel-guard (off unless guard.enabled). */
  guard: GuardConfig;
  /** Rewritten after every tick for `redis-fleet status`; '' = off. */
  statusFile: string;
  /** The agent's own health for Prometheus (agent/metrics.ts); absent = off. */
  metrics?: { listen: { host: string; port: number }; token: string };
  log: { level: LogLevel };
}

const str = { type: 'string', minLength: 1 };
const duration = { type: ['string', 'number'] };

export const agentConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['collector'],
  properties: {
    hostId: str,
    labels: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    roles: { type: 'array', items: { enum: [...AGENT_ROLES] }, uniqueItems: true, default: AGENT_DEFAULTS.roles },
    interval: { ...duration, default: AGENT_DEFAULTS.interval },
    dataPath: { ...str, default: AGENT_DEFAULTS.dataPath },
    instanceSlots: { type: 'integer', minimum: 0 },
    statusFile: { type: 'string', default: AGENT_DEFAULTS.statusFile },
    metrics: { type: 'object', additionalProperties: false, default: {}, properties: { listen: str, tokenFile: str } },
    collector: {
      type: 'object',
      additionalProperties: false,
      properties: {
        addresses: { type: 'array', minItems: 1, items: { type: 'string' } },
        address: { type: 'string' },
        failback: { ...duration, default: '5m' },
        tokenFile: str,
        tokenEnv: str,
        maxMessageBytes: { type: 'integer', minimum: 1024, default: AGENT_DEFAULTS.maxMessageBytes },
        tls: {
          type: 'object',
          additionalProperties: false,
          properties: { caFile: str, certFile: str, keyFile: str, serverName: str },
        },
      },
    },
    buffer: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxReports: { type: 'integer', minimum: 1, default: AGENT_DEFAULTS.bufferMaxReports },
        maxBytes: { type: 'integer', minimum: 1024, default: AGENT_DEFAULTS.bufferMaxBytes },
      },
    },
    redis: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['address'],
        properties: {
          address: { type: 'string' },
          user: str,
          passwordFile: str,
          passwordEnv: str,
          password: { type: 'string' },
          cluster: { type: 'string', default: '' },
          group: { type: 'string', default: '' },
          persistence: instancePersistenceYamlSchema,
          guard: instanceGuardYamlSchema,
        },
      },
    },
    proxies: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kind'],
        properties: {
          kind: { enum: ['codis', 'twemproxy'] },
          name: str,
          timeout: duration,
          adminAddress: str,
          productName: str,
          productAuthFile: str,
          productAuthEnv: str,
          maxClients: { type: 'integer', minimum: 1 },
          statsAddress: str,
          statsInterval: duration,
          configFile: str,
        },
      },
    },
    dashboards: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['adminAddress'],
        properties: { adminAddress: str, name: str, productName: str, timeout: duration },
      },
    },
    sentinels: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['address'],
        properties: { address: str, passwordFile: str, passwordEnv: str, password: { type: 'string' } },
      },
    },
    discovery: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        interval: { ...duration, default: DISCOVERY_DEFAULT_INTERVAL },
        credentials: {
          type: 'array',
          default: [],
          items: {
            type: 'object',
            additionalProperties: false,
            properties: { ports: str, cluster: str, user: str, passwordFile: str, passwordEnv: str, password: { type: 'string' } },
          },
        },
      },
    },
    persistence: {
      ...persistenceYamlSchema,
      default: {},
      properties: { ...persistenceYamlSchema.properties, restoreTriggersOnStop: { type: 'boolean' } },
    },
    guard: guardYamlSchema,
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { level: { enum: [...LOG_LEVELS], default: AGENT_DEFAULTS.logLevel } },
    },
  },
};

interface RawConfig {
  hostId?: string;
  labels: Record<string, string>;
  roles: AgentRole[];
  interval: string | number;
  dataPath: string;
  instanceSlots?: number;
  statusFile: string;
  metrics: { listen?: string; tokenFile?: string };
  collector: {
    addresses?: string[];
    address?: string;
    failback: string | number;
    tokenFile?: string;
    tokenEnv?: string;
    maxMessageBytes: number;
    tls?: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string };
  };
  buffer: { maxReports: number; maxBytes: number };
  redis: {
    address: string;
    user?: string;
    passwordFile?: string;
    passwordEnv?: string;
    password?: string;
    cluster: string;
    group: string;
    persistence?: InstancePersistenceYaml;
    guard?: InstanceGuardOptions;
  }[];
  proxies: RawProxy[];
  dashboards: { adminAddress: string; name?: string; productName?: string; timeout?: string | number }[];
  sentinels: { address: string; passwordFile?: string; passwordEnv?: string; password?: string }[];
  discovery: {
    enabled: boolean;
    interval: string | number;
    credentials: { ports?: string; cluster?: string; user?: string; passwordFile?: string; passwordEnv?: string; password?: string }[];
  };
  persistence: PersistenceYaml & { restoreTriggersOnStop?: boolean };
  guard: GuardYaml;
  log: { level: LogLevel };
}

interface RawProxy {
  kind: 'codis' | 'twemproxy';
  name?: string;
  timeout?: string | number;
  adminAddress?: string;
  productName?: string;
  productAuthFile?: string;
  productAuthEnv?: string;
  maxClients?: number;
  statsAddress?: string;
  statsInterval?: string | number;
  configFile?: string;
}

const CODIS_ONLY = ['adminAddress', 'productName', 'productAuthFile', 'productAuthEnv', 'maxClients'] as const;
const TWEMPROXY_ONLY = ['statsAddress', 'statsInterval', 'configFile'] as const;

function resolveProxy(p: RawProxy, key: string, intervalMs: number): ProxyConfig {
  const wrong = (p.kind === 'codis' ? TWEMPROXY_ONLY : CODIS_ONLY).find((k) => p[k] !== undefined);
  if (wrong) throw new ConfigError(`${key}.${wrong}`, `does not apply to kind ${p.kind}`);
  // A poll must end within the tick; the default leaves room for the rest of the tick.
  const timeoutMs = p.timeout === undefined ? Math.min(2000, Math.max(500, intervalMs)) : parseDuration(p.timeout, `${key}.timeout`);
  if (p.kind === 'codis') {
    if (p.adminAddress === undefined) throw new ConfigError(`${key}.adminAddress`, "is required for kind codis (the proxy's admin_addr)");
    const adminAddress = hostPort(p.adminAddress, `${key}.adminAddress`).address;
    if (p.productAuthFile !== undefined && p.productAuthEnv !== undefined)
      throw new ConfigError(key, 'give only one of productAuthFile or productAuthEnv');
    const authKey = p.productAuthFile !== undefined ? `${key}.productAuthFile` : `${key}.productAuthEnv`;
    const productAuth = readSecret({ file: p.productAuthFile, env: p.productAuthEnv }, authKey);
    const c: ProxyConfig = { kind: 'codis', adminAddress, name: p.name ?? '', timeoutMs };
    if (p.productName !== undefined) c.productName = p.productName;
    if (productAuth !== undefined) c.productAuth = productAuth;
    if (p.maxClients !== undefined) c.maxClients = p.maxClients;
    return c;
  }
  if (p.statsAddress === undefined)
    throw new ConfigError(`${key}.statsAddress`, 'is required for kind twemproxy (nutcracker -a/-s, default port 22222)');
  const statsAddress = hostPort(p.statsAddress, `${key}.statsAddress`).address;
  const statsIntervalMs = parseDuration(p.statsInterval ?? NUTCRACKER_DEFAULT_STATS_INTERVAL, `${key}.statsInterval`);
  const t: ProxyConfig = { kind: 'twemproxy', statsAddress, name: p.name ?? '', statsIntervalMs, timeoutMs };
  if (p.configFile !== undefined) {
    try {
      fs.accessSync(p.configFile, fs.constants.R_OK);
    } catch (err) {
      throw new ConfigError(`${key}.configFile`, `cannot read ${p.configFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    t.configFile = p.configFile;
  }
  return t;
}

const PORT_LIST = /^\s*\d{1,5}(\s*-\s*\d{1,5})?(\s*,\s*\d{1,5}(\s*-\s*\d{1,5})?)*\s*$/;

function hostPort(v: string, key: string): HostPort {
  const { host, port } = parseHostPort(v, key);
  return { host, port, address: v.trim() };
}

/** The one password of `passwordFile` / `passwordEnv` / `password` under `key` (giving two is an error). */
function passwordOf(r: { passwordFile?: string; passwordEnv?: string; password?: string }, key: string): string | undefined {
  const forms = [
    ['passwordFile', r.passwordFile],
    ['passwordEnv', r.passwordEnv],
    ['password', r.password],
  ].filter(([, v]) => v !== undefined);
  if (forms.length > 1) throw new ConfigError(key, 'give only one of passwordFile, passwordEnv or password');
  return readSecret(
    { file: r.passwordFile, env: r.passwordEnv, value: r.password },
    forms.length ? `${key}.${forms[0]![0]}` : `${key}.password`,
  );
}

/**
 * Validates a parsed YAML document (defaults filled in) into the config the agent runs on.
 * Independent sections are all checked before throwing, so every mistake is reported at once.
 */
export function resolveAgentConfig(data: unknown): AgentConfig {
  const raw = validate<RawConfig>(agentConfigSchema, data ?? {});
  const p = new ConfigProblems();

  const intervalMs = p.check(() => {
    const ms = parseDuration(raw.interval, 'interval');
    if (ms < AGENT_DEFAULTS.minIntervalMs) throw new ConfigError('interval', `must be at least ${AGENT_DEFAULTS.minIntervalMs}ms`);
    return ms;
  });
  // Proxy and dashboard timeouts default from the interval; a bad interval is reported above.
  const timeoutBaseMs = intervalMs ?? 10_000;

  p.check(() => {
    let dataStat: fs.Stats;
    try {
      dataStat = fs.statSync(raw.dataPath);
    } catch (err) {
      throw new ConfigError('dataPath', `cannot access ${raw.dataPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (!dataStat.isDirectory()) throw new ConfigError('dataPath', `${raw.dataPath} is not a directory`);
  });

  const collector = p.check((): AgentConfig['collector'] => {
    if (raw.collector.addresses === undefined && raw.collector.address === undefined) {
      throw new ConfigError('collector.addresses', 'is required (or collector.address)');
    }
    if (raw.collector.addresses !== undefined && raw.collector.address !== undefined) {
      throw new ConfigError('collector', 'give only one of addresses or address');
    }
    const addresses =
      raw.collector.addresses !== undefined
        ? raw.collector.addresses.map((a, i) => hostPort(a, `collector.addresses[${i}]`))
        : [hostPort(raw.collector.address!, 'collector.address')];
    if (new Set(addresses.map((a) => a.address)).size !== addresses.length)
      throw new ConfigError('collector.addresses', 'lists an address twice');
    const failbackMs = parseDuration(raw.collector.failback, 'collector.failback');
    if (raw.collector.tokenFile === undefined && raw.collector.tokenEnv === undefined) {
      throw new ConfigError('collector.tokenFile', 'is required (or collector.tokenEnv)');
    }
    if (raw.collector.tokenFile !== undefined && raw.collector.tokenEnv !== undefined) {
      throw new ConfigError('collector', 'give only one of tokenFile or tokenEnv');
    }
    const tokenKey = raw.collector.tokenFile !== undefined ? 'collector.tokenFile' : 'collector.tokenEnv';
    const token = readSecret({ file: raw.collector.tokenFile, env: raw.collector.tokenEnv }, tokenKey)!;
    const tls = resolveCollectorTls(raw.collector.tls);
    return { addresses, failbackMs, token, maxMessageBytes: raw.collector.maxMessageBytes, ...(tls ? { tls } : {}) };
  });

  const seen = new Map<string, number>();
  const redis = raw.redis.map((r, i) =>
    p.check((): RedisInstanceConfig => {
      const key = `redis[${i}]`;
      const hp = hostPort(r.address, `${key}.address`);
      const norm = `${hp.host.toLowerCase()}:${hp.port}`;
      const first = seen.get(norm);
      if (first !== undefined) throw new ConfigError(`${key}.address`, `duplicate of redis[${first}].address (${r.address})`);
      seen.set(norm, i);
      const password = passwordOf(r, key);
      const inst: RedisInstanceConfig = { ...hp, cluster: r.cluster, group: r.group };
      if (r.persistence !== undefined) inst.persistence = instanceOptionsFromYaml(r.persistence, `${key}.persistence`);
      if (r.guard !== undefined) inst.guard = r.guard;
      if (r.user !== undefined) inst.user = r.user;
      if (password !== undefined) inst.password = password;
      return inst;
    }),
  );

  const proxyAddresses = new Map<string, number>();
  const proxies = raw.proxies.map((proxy, i) =>
    p.check(() => {
      const c = resolveProxy(proxy, `proxies[${i}]`, timeoutBaseMs);
      const addr = c.kind === 'codis' ? c.adminAddress : c.statsAddress;
      const first = proxyAddresses.get(addr);
      if (first !== undefined) throw new ConfigError(`proxies[${i}]`, `same address as proxies[${first}] (${addr})`);
      proxyAddresses.set(addr, i);
      return c;
    }),
  );
  p.check(() => {
    if (proxies.length > 0 && !raw.roles.includes('proxy')) throw new ConfigError('proxies', 'needs the proxy role (add proxy to roles)');
  });

  const dashboardAddresses = new Map<string, number>();
  const dashboards = raw.dashboards.map((d, i) =>
    p.check((): DashboardConfig => {
      const key = `dashboards[${i}]`;
      const adminAddress = hostPort(d.adminAddress, `${key}.adminAddress`).address;
      const first = dashboardAddresses.get(adminAddress);
      if (first !== undefined) throw new ConfigError(`${key}.adminAddress`, `same address as dashboards[${first}] (${adminAddress})`);
      dashboardAddresses.set(adminAddress, i);
      // GET /topom is ~150 KB for a full product: the same bounded default as a proxy poll.
      const timeoutMs = d.timeout === undefined ? Math.min(2000, Math.max(500, timeoutBaseMs)) : parseDuration(d.timeout, `${key}.timeout`);
      const c: DashboardConfig = { adminAddress, name: d.name ?? '', timeoutMs };
      if (d.productName !== undefined) c.productName = d.productName;
      return c;
    }),
  );
  p.check(() => {
    if (dashboards.length > 0 && !raw.roles.includes('dashboard'))
      throw new ConfigError('dashboards', 'needs the dashboard role (add dashboard to roles)');
  });
  const sentinelAddresses = new Map<string, number>();
  const sentinels = raw.sentinels.map((r, i) =>
    p.check((): SentinelConfig => {
      const key = `sentinels[${i}]`;
      const { address } = hostPort(r.address, `${key}.address`);
      const first = sentinelAddresses.get(address);
      if (first !== undefined) throw new ConfigError(`${key}.address`, `duplicate of sentinels[${first}].address (${address})`);
      sentinelAddresses.set(address, i);
      const password = passwordOf(r, key);
      return password === undefined ? { address } : { address, password };
    }),
  );

  const discovery = p.check((): DiscoveryConfig => {
    const d: DiscoveryConfig = {
      enabled: raw.discovery.enabled,
      intervalMs: parseDuration(raw.discovery.interval, 'discovery.interval'),
      credentials: raw.discovery.credentials.map((c, i) => {
        const key = `discovery.credentials[${i}]`;
        if (c.ports !== undefined && !PORT_LIST.test(c.ports))
          throw new ConfigError(`${key}.ports`, `must be ports or ranges like "6379-6390,7000" (got ${JSON.stringify(c.ports)})`);
        const forms = [
          ['passwordFile', c.passwordFile],
          ['passwordEnv', c.passwordEnv],
          ['password', c.password],
        ].filter(([, v]) => v !== undefined);
        const password = readSecret(
          { file: c.passwordFile, env: c.passwordEnv, value: c.password },
          forms.length ? `${key}.${forms[0]![0]}` : `${key}.password`,
        );
        const rule: DiscoveryCredentialRule = {};
        if (c.ports !== undefined) rule.ports = c.ports;
        if (c.cluster !== undefined) rule.cluster = c.cluster;
        if (c.user !== undefined) rule.user = c.user;
        if (password !== undefined) rule.password = password;
        return rule;
      }),
    };
    if (d.intervalMs < 10_000)
      throw new ConfigError('discovery.interval', 'must be at least 10s (a scan walks /proc; it is not a per-tick job)');
    return d;
  });

  const persistence = p.check((): AgentPersistenceConfig => {
    const { enabled = false, restoreTriggersOnStop = true, ...schedulerYaml } = raw.persistence;
    if (enabled && !raw.roles.includes('redis'))
      throw new ConfigError('persistence.enabled', 'needs the redis role (roles does not include redis)');
    return { enabled, restoreTriggersOnStop, scheduler: configFromYaml(schedulerYaml, 'persistence') };
  });

  const guard = p.check(() => {
    const g = guardConfigFromYaml(raw.guard, 'guard');
    if (g.enabled && !raw.roles.includes('redis'))
      throw new ConfigError('guard.enabled', 'needs the redis role (roles does not include redis)');
    if (g.enabled && redis.length === 0)
      throw new ConfigError('guard.enabled', 'needs at least one redis[] entry to guard (discovered instances are not fenced)');
    return g;
  });
  const metrics = p.check(() => resolveMetrics(raw.metrics));
  p.done();

  // p.done() threw unless every check passed, so every section below is set.
  return {
    hostId: raw.hostId ?? os.hostname(),
    labels: raw.labels,
    roles: raw.roles,
    intervalMs: intervalMs!,
    dataPath: raw.dataPath,
    instanceSlots: raw.instanceSlots ?? redis.length,
    collector: collector!,
    buffer: { maxReports: raw.buffer.maxReports, maxBytes: raw.buffer.maxBytes },
    redis: redis as RedisInstanceConfig[],
    proxies: proxies as NonNullable<(typeof proxies)[number]>[],
    dashboards: dashboards as DashboardConfig[],
    sentinels: sentinels as SentinelConfig[],
    discovery: discovery!,
    persistence: persistence!,
    guard: guard!,
    statusFile: raw.statusFile,
    ...metrics!,
    log: { level: raw.log.level },
  };
}

function resolveMetrics(raw: RawConfig['metrics']): Pick<AgentConfig, 'metrics'> {
  if (raw.listen === undefined) {
    if (raw.tokenFile !== undefined) throw new ConfigError('metrics.tokenFile', 'needs metrics.listen (metrics are off without it)');
    return {};
  }
  const listen = parseHostPort(raw.listen, 'metrics.listen');
  // Every port is authenticated: no token, no /metrics.
  if (raw.tokenFile === undefined)
    throw new ConfigError('metrics.tokenFile', 'is required with metrics.listen (scrapers send "Authorization: Bearer <token>")');
  return { metrics: { listen, token: readSecret({ file: raw.tokenFile }, 'metrics.tokenFile')! } };
}

function resolveCollectorTls(raw: RawConfig['collector']['tls']): AgentConfig['collector']['tls'] {
  if (!raw) return undefined;
  if ((raw.certFile === undefined) !== (raw.keyFile === undefined)) {
    throw new ConfigError(
      raw.certFile === undefined ? 'collector.tls.certFile' : 'collector.tls.keyFile',
      'is required with the other one (a client certificate needs both)',
    );
  }
  const files: TlsFiles = {
    ca: raw.caFile !== undefined ? { file: raw.caFile, key: 'collector.tls.caFile' } : undefined,
    cert: raw.certFile !== undefined ? { file: raw.certFile, key: 'collector.tls.certFile' } : undefined,
    key: raw.keyFile !== undefined ? { file: raw.keyFile, key: 'collector.tls.keyFile' } : undefined,
  };
  readTlsPem(files);
  return { files, serverName: raw.serverName };
}

/** Reads and validates the YAML file; throws ConfigError (see loadOrExit). */
export function loadAgentConfig(file: string): AgentConfig {
  return resolveAgentConfig(readYamlFile(file));
}
