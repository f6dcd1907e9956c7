// The collector's `placement:` section: reservation timings, per-role safety thresholds and
// profiles. Validated like the rest of the collector config: a bad key is one ConfigError
// naming it (exit 78).
import { ConfigError, parseDuration, validate } from '../../common/index.js';
import type { RoleThresholds } from './framework.js';
import { BUILTIN_PROFILES, DEFAULT_PROFILE, buildProfile, type Profile, type ProfileSpec } from './profiles.js';

export const PLACEMENT_ROLES = ['redis', 'proxy', 'dashboard'] as const;
export type PlacementRole = (typeof PLACEMENT_ROLES)[number];

export interface PlacementConfig {
  /** An unconfirmed placement's hold ends (expires) after this. */
  reservationTtlMs: number;
  /** A confirmed placement keeps holding this long, until the agents' reports show the instances. */
  confirmedHoldMs: number;
  /** Answers kept for idempotent replay by requestId. */
  requestRetentionMs: number;
  maxRequests: number;
  defaultStrategy: string;
  thresholds: Record<PlacementRole, RoleThresholds>;
  profiles: Record<string, Profile>;
}

export const PLACEMENT_DEFAULTS = {
  reservationTtl: '5m',
  confirmedHold: '10m',
  requestRetention: '24h',
  maxRequests: 100_000,
  thresholds: { memory: 0.85, cpu: 80, disk: 0.9 },
} as const;

const duration = { type: ['string', 'number'] };
const thresholds = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    memory: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: PLACEMENT_DEFAULTS.thresholds.memory },
    cpu: { type: 'number', minimum: 0, maximum: 100, default: PLACEMENT_DEFAULTS.thresholds.cpu },
    disk: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: PLACEMENT_DEFAULTS.thresholds.disk },
  },
};

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    reservationTtl: { ...duration, default: PLACEMENT_DEFAULTS.reservationTtl },
    confirmedHold: { ...duration, default: PLACEMENT_DEFAULTS.confirmedHold },
    requestRetention: { ...duration, default: PLACEMENT_DEFAULTS.requestRetention },
    maxRequests: { type: 'integer', minimum: 1, maximum: 10_000_000, default: PLACEMENT_DEFAULTS.maxRequests },
    defaultStrategy: { type: 'string', minLength: 1, default: DEFAULT_PROFILE },
    thresholds: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: Object.fromEntries(PLACEMENT_ROLES.map((r) => [r, thresholds])),
    },
    profiles: {
      type: 'object',
      default: {},
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['scores'],
        properties: {
          filters: { type: 'array', items: { type: 'string' }, uniqueItems: true },
          scores: { type: 'object', minProperties: 1, additionalProperties: { type: 'number', minimum: 0, maximum: 100 } },
        },
      },
    },
  },
} as const;

interface Raw {
  reservationTtl: string | number;
  confirmedHold: string | number;
  requestRetention: string | number;
  maxRequests: number;
  defaultStrategy: string;
  thresholds: Record<PlacementRole, RoleThresholds>;
  profiles: Record<string, ProfileSpec>;
}

const KEY = 'placement';

export function resolvePlacementConfig(data: unknown): PlacementConfig {
  let raw: Raw;
  try {
    raw = validate<Raw>(SCHEMA, data ?? {});
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${KEY}${err.key && err.key !== '(root)' ? `.${err.key}` : ''}`, err.problem);
    throw err;
  }
  const profiles: Record<string, Profile> = {};
  for (const [name, spec] of Object.entries({ ...BUILTIN_PROFILES, ...raw.profiles })) {
    const built = buildProfile(name, spec);
    if ('problem' in built) throw new ConfigError(`${KEY}.profiles.${name}.${built.key}`, built.problem);
    if (built.scores.length === 0)
      throw new ConfigError(`${KEY}.profiles.${name}.scores`, 'needs at least one score plugin with a weight above 0');
    profiles[name] = built;
  }
  const ms = (key: 'reservationTtl' | 'confirmedHold' | 'requestRetention', min: number) => {
    const v = parseDuration(raw[key], `${KEY}.${key}`);
    if (v < min) throw new ConfigError(`${KEY}.${key}`, `must be at least ${min}ms`);
    return v;
  };
  const config: PlacementConfig = {
    reservationTtlMs: ms('reservationTtl', 100),
    confirmedHoldMs: ms('confirmedHold', 0),
    requestRetentionMs: ms('requestRetention', 1000),
    maxRequests: raw.maxRequests,
    defaultStrategy: raw.defaultStrategy,
    thresholds: raw.thresholds,
    profiles,
  };
  if (!profiles[config.defaultStrategy]) {
    throw new ConfigError(
      `${KEY}.defaultStrategy`,
      `no profile named ${JSON.stringify(config.defaultStrategy)} (have: ${Object.keys(profiles).join(', ')})`,
    );
  }
  return config;
}
