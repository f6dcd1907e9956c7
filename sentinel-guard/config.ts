// The guard's configuration (`guard:` in the agent's YAML): schema, defaults, and the timing
// budget check that refuses a config which cannot fence before the Sentinels can fail over.
import { ConfigError, parseDuration, parseHostPort, readSecret } from '../common/index.js';

export const FENCE_MODES = ['acl', 'replicaof'] as const;
export type FenceMode = (typeof FENCE_MODES)[number];

export interface GuardConfig {
  enabled: boolean;
  /** Where the fence intent file lives (mode 0600: it holds ACL password hashes). */
  stateDir: string;
  zookeeper: {
    /** node-zookeeper-client connect string "h1:p1,h2:p2[/chroot]". */
    servers: string;
    /** The znode the probe reads (exists). */
    probePath: string;
    probeIntervalMs: number;
    probeTimeoutMs: number;
    /** Consecutive failed probes before ZooKeeper counts as unreachable. */
    failures: number;
    sessionTimeoutMs: number;
  };
  sentinels: {
    addresses: string[];
    /** Never logged. */
    password?: string;
    /** Deadline for one round of questions to every Sentinel. */
    timeoutMs: number;
    /** The Sentinels' down-after-milliseconds: the earliest the majority side can promote. */
    downAfterMs: number;
    /** The IP the Sentinels know this host's instances by, when it differs from redis[].address. */
    announceHost?: string;
  };
  fence: {
    mode: FenceMode;
    timeoutMs: number;
    /** ACL users never fenced (the agent's own user is always exempt unless it is `default`). */
    exemptUsers: string[];
    /** Also `-@pubsub` (only when Sentinel does not share a fenced user: it PUBLISHes hellos). */
    pubsub: boolean;
  };
  /** Static defence in depth set on masters at start (min-replicas-to-write / -max-lag). */
  backstop?: { minReplicasToWrite: number; minReplicasMaxLagS: number };
  /** How long the host must be no longer cut off before fenced instances are restored. */
  hysteresisMs: number;
  /** Safety margin kept below down-after in the budget. */
  marginMs: number;
}

/** Per-instance options: `redis[].guard`. */
export interface InstanceGuardOptions {
  /** The Sentinel master name (default: learned from SENTINEL masters, or `<cluster>-<group>` for Codis). */
  sentinelName?: string;
  /** A znode naming this group's master (plain "host:port" or a Codis group JSON); default the Codis group path. */
  masterZnode?: string;
  /** Leave this instance alone. */
  optOut?: boolean;
}

export const GUARD_DEFAULTS = {
  stateDir: '/var/lib/redis-fleet/guard',
  probePath: '/',
  probeInterval: '1s',
  probeTimeout: '1s',
  failures: 3,
  sessionTimeout: '10s',
  sentinelTimeout: '500ms',
  // Codis dashboard's default sentinel_down_after.
  downAfter: '30s',
  fenceTimeout: '1s',
  hysteresis: '10s',
  margin: '2s',
};

const str = { type: 'string', minLength: 1 };
const duration = { type: ['string', 'number'] };

export const guardYamlSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    enabled: { type: 'boolean', default: false },
    stateDir: str,
    zookeeper: {
      type: 'object',
      additionalProperties: false,
      properties: {
        servers: str,
        probePath: str,
        probeInterval: duration,
        probeTimeout: duration,
        failures: { type: 'integer', minimum: 1, maximum: 100 },
        sessionTimeout: duration,
      },
    },
    sentinels: {
      type: 'object',
      additionalProperties: false,
      properties: {
        addresses: { type: 'array', items: { type: 'string' } },
        passwordFile: str,
        passwordEnv: str,
        timeout: duration,
        downAfter: duration,
        announceHost: str,
      },
    },
    fence: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { enum: [...FENCE_MODES] },
        timeout: duration,
        exemptUsers: { type: 'array', items: str },
        pubsub: { type: 'boolean' },
      },
    },
    backstop: {
      type: 'object',
      additionalProperties: false,
      required: ['minReplicasToWrite'],
      properties: { minReplicasToWrite: { type: 'integer', minimum: 0 }, minReplicasMaxLag: duration },
    },
    hysteresis: duration,
    margin: duration,
  },
};

export const instanceGuardYamlSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { sentinelName: str, masterZnode: { type: 'string', pattern: '^/' }, optOut: { type: 'boolean' } },
};

export interface GuardYaml {
  enabled?: boolean;
  stateDir?: string;
  zookeeper?: {
    servers?: string;
    probePath?: string;
    probeInterval?: string | number;
    probeTimeout?: string | number;
    failures?: number;
    sessionTimeout?: string | number;
  };
  sentinels?: {
    addresses?: string[];
    passwordFile?: string;
    passwordEnv?: string;
    timeout?: string | number;
    downAfter?: string | number;
    announceHost?: string;
  };
  fence?: { mode?: FenceMode; timeout?: string | number; exemptUsers?: string[]; pubsub?: boolean };
  backstop?: { minReplicasToWrite: number; minReplicasMaxLag?: string | number };
  hysteresis?: string | number;
  margin?: string | number;
}

export interface GuardBudget {
  /** Worst case from the cut to the fence being in place. */
  worstCaseFenceMs: number;
  /** down-after − margin: the fence must be in place before this. */
  limitMs: number;
  terms: Record<string, number>;
}

/**
 * Worst case from a cut right after a good probe to a verified fence: `failures` probes, each one
 * interval (or, when failing, one deadline) apart, plus one more deadline of slack, the failsafe round to the Sentinels,
 * then the fence itself. With failures = 1 and the Sentinel deadline ≤ the probe deadline this
 * is Patroni's `interval + 2 × deadline + fence` rule.
 */
export function guardBudget(c: Pick<GuardConfig, 'zookeeper' | 'sentinels' | 'fence' | 'marginMs'>): GuardBudget {
  const terms = {
    // A failing probe runs to its deadline, so probes come max(interval, deadline) apart.
    probes: c.zookeeper.failures * Math.max(c.zookeeper.probeIntervalMs, c.zookeeper.probeTimeoutMs),
    probeDeadline: c.zookeeper.probeTimeoutMs,
    failsafeRound: c.sentinels.timeoutMs,
    fence: c.fence.timeoutMs,
  };
  const worstCaseFenceMs = terms.probes + terms.probeDeadline + terms.failsafeRound + terms.fence;
  return { worstCaseFenceMs, limitMs: c.sentinels.downAfterMs - c.marginMs, terms };
}

/** Defaults filled in and every value checked; errors name the key under `prefix`. */
export function guardConfigFromYaml(y: GuardYaml, prefix = 'guard'): GuardConfig {
  const k = (name: string) => `${prefix}.${name}`;
  const d = (v: string | number | undefined, dflt: string, key: string) => parseDuration(v ?? dflt, k(key));
  const zk = y.zookeeper ?? {};
  const se = y.sentinels ?? {};
  const fe = y.fence ?? {};
  const enabled = y.enabled ?? false;

  if (enabled && !zk.servers)
    throw new ConfigError(k('zookeeper.servers'), 'is required when guard.enabled is true (the ZooKeeper connect string)');
  if (zk.servers) {
    const [hosts] = zk.servers.split('/', 1);
    hosts!.split(',').forEach((hp, i) => parseHostPort(hp, `${k('zookeeper.servers')}[${i}]`));
  }
  const addresses = (se.addresses ?? []).map((a, i) => {
    const { host, port } = parseHostPort(a, `${k('sentinels.addresses')}[${i}]`);
    return `${host}:${port}`;
  });
  if (enabled && addresses.length === 0) {
    throw new ConfigError(
      k('sentinels.addresses'),
      'is required when guard.enabled is true (every Sentinel of the failover authority; the failsafe needs a majority of them)',
    );
  }
  if (new Set(addresses).size !== addresses.length) throw new ConfigError(k('sentinels.addresses'), 'lists a Sentinel twice');
  if (se.passwordFile !== undefined && se.passwordEnv !== undefined)
    throw new ConfigError(k('sentinels'), 'give only one of passwordFile or passwordEnv');
  const password = readSecret(
    { file: se.passwordFile, env: se.passwordEnv },
    se.passwordFile !== undefined ? k('sentinels.passwordFile') : k('sentinels.passwordEnv'),
  );

  const c: GuardConfig = {
    enabled,
    stateDir: y.stateDir ?? GUARD_DEFAULTS.stateDir,
    zookeeper: {
      servers: zk.servers ?? '',
      probePath: zk.probePath ?? GUARD_DEFAULTS.probePath,
      probeIntervalMs: d(zk.probeInterval, GUARD_DEFAULTS.probeInterval, 'zookeeper.probeInterval'),
      probeTimeoutMs: d(zk.probeTimeout, GUARD_DEFAULTS.probeTimeout, 'zookeeper.probeTimeout'),
      failures: zk.failures ?? GUARD_DEFAULTS.failures,
      sessionTimeoutMs: d(zk.sessionTimeout, GUARD_DEFAULTS.sessionTimeout, 'zookeeper.sessionTimeout'),
    },
    sentinels: {
      addresses,
      timeoutMs: d(se.timeout, GUARD_DEFAULTS.sentinelTimeout, 'sentinels.timeout'),
      downAfterMs: d(se.downAfter, GUARD_DEFAULTS.downAfter, 'sentinels.downAfter'),
    },
    fence: {
      mode: fe.mode ?? 'acl',
      timeoutMs: d(fe.timeout, GUARD_DEFAULTS.fenceTimeout, 'fence.timeout'),
      exemptUsers: fe.exemptUsers ?? [],
      pubsub: fe.pubsub ?? false,
    },
    hysteresisMs: d(y.hysteresis, GUARD_DEFAULTS.hysteresis, 'hysteresis'),
    marginMs: d(y.margin, GUARD_DEFAULTS.margin, 'margin'),
  };
  if (password !== undefined) c.sentinels.password = password;
  if (se.announceHost !== undefined) c.sentinels.announceHost = se.announceHost;
  if (y.backstop) {
    c.backstop = {
      minReplicasToWrite: y.backstop.minReplicasToWrite,
      minReplicasMaxLagS: Math.max(1, Math.round(d(y.backstop.minReplicasMaxLag, '10s', 'backstop.minReplicasMaxLag') / 1000)),
    };
  }
  if (c.zookeeper.probeIntervalMs < 50) throw new ConfigError(k('zookeeper.probeInterval'), 'must be at least 50ms');
  if (c.zookeeper.probeTimeoutMs < 10) throw new ConfigError(k('zookeeper.probeTimeout'), 'must be at least 10ms');
  if (c.sentinels.timeoutMs < 10) throw new ConfigError(k('sentinels.timeout'), 'must be at least 10ms');
  if (c.fence.timeoutMs < 10) throw new ConfigError(k('fence.timeout'), 'must be at least 10ms');
  if (c.zookeeper.sessionTimeoutMs < 2 * c.zookeeper.probeTimeoutMs)
    throw new ConfigError(k('zookeeper.sessionTimeout'), 'must be at least 2× zookeeper.probeTimeout');

  if (enabled) {
    const b = guardBudget(c);
    if (b.worstCaseFenceMs >= b.limitMs) {
      const t = b.terms;
      throw new ConfigError(
        k('sentinels.downAfter'),
        `timing budget cannot fence before a failover: failures × max(probeInterval, probeTimeout) (${t.probes} ms) + probeTimeout (${t.probeDeadline} ms)` +
          ` + sentinels.timeout (${t.failsafeRound} ms) + fence.timeout (${t.fence} ms) = ${b.worstCaseFenceMs} ms, which must be below` +
          ` downAfter (${c.sentinels.downAfterMs} ms) − margin (${c.marginMs} ms) = ${b.limitMs} ms; shorten the probe or raise down-after-milliseconds`,
      );
    }
  }
  return c;
}
