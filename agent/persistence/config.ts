// Scheduler configuration: defaults, validation with errors naming the key, and the YAML form
// the agent's config file can embed (`persistence:` at the top, `persistence:` per redis entry).
import cron from 'node-cron';
import { ConfigError, parseBytes, parseDuration } from '../../common/index.js';
import { parseSavePoints } from './policy.js';
import type { PersistenceConfig, PersistencePolicy } from './types.js';
export { parseBytes };

const MiB = 1024 * 1024;

export const PERSISTENCE_DEFAULTS: PersistenceConfig = {
  loopIntervalMs: 1000,
  childPollIntervalMs: 200,
  cowSafetyFactor: 1.5,
  rssFractionWithoutHistory: 0.5,
  reserveBytes: 512 * MiB,
  floorBytes: 256 * MiB,
  floorAction: 'alert',
  maxRdbAgeMs: 24 * 3600 * 1000,
  retryAfterFailureMs: 10_000,
  commandTimeoutMs: 5000,
  cowHistoryLength: 5,
};

function num(v: unknown, key: string, min: number, opts: { max?: number; integer?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(key, `must be a number (got ${JSON.stringify(v)})`);
  if (opts.integer && !Number.isInteger(v)) throw new ConfigError(key, `must be an integer (got ${v})`);
  if (v < min) throw new ConfigError(key, `must be at least ${min} (got ${v})`);
  if (opts.max !== undefined && v > opts.max) throw new ConfigError(key, `must be at most ${opts.max} (got ${v})`);
  return v;
}

/** Defaults filled in and every value checked; `prefix` names the keys in errors. */
export function resolveConfig(partial: Partial<PersistenceConfig> = {}, prefix = 'persistence'): PersistenceConfig {
  const known = new Set(Object.keys(PERSISTENCE_DEFAULTS).concat(['backupCron', 'backupTimezone', 'statePath']));
  for (const k of Object.keys(partial)) if (!known.has(k)) throw new ConfigError(`${prefix}.${k}`, 'unknown key');
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const c: PersistenceConfig = { ...PERSISTENCE_DEFAULTS, ...defined };
  const k = (name: string) => `${prefix}.${name}`;
  num(c.loopIntervalMs, k('loopIntervalMs'), 50);
  num(c.childPollIntervalMs, k('childPollIntervalMs'), 10);
  num(c.cowSafetyFactor, k('cowSafetyFactor'), 1);
  num(c.rssFractionWithoutHistory, k('rssFractionWithoutHistory'), 0, { max: 2 });
  num(c.reserveBytes, k('reserveBytes'), 0);
  num(c.floorBytes, k('floorBytes'), 0);
  num(c.maxRdbAgeMs, k('maxRdbAgeMs'), 0);
  num(c.retryAfterFailureMs, k('retryAfterFailureMs'), 0);
  num(c.commandTimeoutMs, k('commandTimeoutMs'), 10);
  num(c.cowHistoryLength, k('cowHistoryLength'), 1, { integer: true });
  if (c.floorAction !== 'alert' && c.floorAction !== 'kill') throw new ConfigError(k('floorAction'), 'must be one of alert, kill');
  if (c.backupCron !== undefined) {
    if (typeof c.backupCron !== 'string' || !cron.validate(c.backupCron)) {
      throw new ConfigError(k('backupCron'), `is not a valid cron expression (got ${JSON.stringify(c.backupCron)})`);
    }
  }
  if (c.backupTimezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: c.backupTimezone });
    } catch {
      throw new ConfigError(k('backupTimezone'), `is not a known time zone (got ${JSON.stringify(c.backupTimezone)})`);
    }
  }
  if (c.statePath !== undefined && (typeof c.statePath !== 'string' || !c.statePath)) {
    throw new ConfigError(k('statePath'), 'must be a file path');
  }
  return c;
}

const durationOrMs = { anyOf: [{ type: 'string' }, { type: 'number', minimum: 0 }] };
const bytesOrSize = { anyOf: [{ type: 'string' }, { type: 'number', minimum: 0 }] };

/** JSON schema of the agent config's top-level `persistence:` section (for ajv). */
export const persistenceYamlSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    loopInterval: durationOrMs,
    childPollInterval: durationOrMs,
    cowSafetyFactor: { type: 'number', minimum: 1 },
    rssFractionWithoutHistory: { type: 'number', minimum: 0, maximum: 2 },
    reserve: bytesOrSize,
    floor: bytesOrSize,
    floorAction: { enum: ['alert', 'kill'] },
    maxRdbAge: durationOrMs,
    backupCron: { type: 'string' },
    backupTimezone: { type: 'string' },
    retryAfterFailure: durationOrMs,
    commandTimeout: durationOrMs,
    statePath: { type: 'string' },
  },
} as const;

/** JSON schema of a redis entry's `persistence:` (opt-out and policy override). */
export const instancePersistenceYamlSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    optOut: { type: 'boolean' },
    save: { type: 'string' },
    aofRewritePercentage: { type: 'integer', minimum: 0 },
    aofRewriteMinSize: bytesOrSize,
    rdbBackups: { type: 'boolean' },
  },
} as const;

export interface PersistenceYaml {
  enabled?: boolean;
  loopInterval?: string | number;
  childPollInterval?: string | number;
  cowSafetyFactor?: number;
  rssFractionWithoutHistory?: number;
  reserve?: string | number;
  floor?: string | number;
  floorAction?: 'alert' | 'kill';
  maxRdbAge?: string | number;
  backupCron?: string;
  backupTimezone?: string;
  retryAfterFailure?: string | number;
  commandTimeout?: string | number;
  statePath?: string;
}

export interface InstancePersistenceYaml {
  optOut?: boolean;
  save?: string;
  aofRewritePercentage?: number;
  aofRewriteMinSize?: string | number;
  rdbBackups?: boolean;
}

/** The YAML section → a checked PersistenceConfig (throws ConfigError naming `prefix.key`). */
export function configFromYaml(y: PersistenceYaml = {}, prefix = 'persistence'): PersistenceConfig {
  const k = (n: string) => `${prefix}.${n}`;
  const dur = (v: string | number | undefined, n: string) => (v === undefined ? undefined : parseDuration(v, k(n)));
  const bytes = (v: string | number | undefined, n: string) => (v === undefined ? undefined : parseBytes(v, k(n)));
  try {
    return resolveConfig(fromYaml(y, dur, bytes), prefix);
  } catch (err) {
    // resolveConfig names the resolved keys (loopIntervalMs); the operator wrote the YAML ones.
    if (!(err instanceof ConfigError)) throw err;
    const name = err.key.slice(prefix.length + 1);
    const yamlName = YAML_NAMES[name];
    throw yamlName ? new ConfigError(k(yamlName), err.problem) : err;
  }
}

/** Resolved key → the YAML key it comes from, where they differ. */
const YAML_NAMES: Record<string, string> = {
  loopIntervalMs: 'loopInterval',
  childPollIntervalMs: 'childPollInterval',
  reserveBytes: 'reserve',
  floorBytes: 'floor',
  maxRdbAgeMs: 'maxRdbAge',
  retryAfterFailureMs: 'retryAfterFailure',
  commandTimeoutMs: 'commandTimeout',
};

function fromYaml(
  y: PersistenceYaml,
  dur: (v: string | number | undefined, n: string) => number | undefined,
  bytes: (v: string | number | undefined, n: string) => number | undefined,
): Partial<PersistenceConfig> {
  return {
    loopIntervalMs: dur(y.loopInterval, 'loopInterval'),
    childPollIntervalMs: dur(y.childPollInterval, 'childPollInterval'),
    cowSafetyFactor: y.cowSafetyFactor,
    rssFractionWithoutHistory: y.rssFractionWithoutHistory,
    reserveBytes: bytes(y.reserve, 'reserve'),
    floorBytes: bytes(y.floor, 'floor'),
    floorAction: y.floorAction,
    maxRdbAgeMs: dur(y.maxRdbAge, 'maxRdbAge'),
    backupCron: y.backupCron,
    backupTimezone: y.backupTimezone,
    retryAfterFailureMs: dur(y.retryAfterFailure, 'retryAfterFailure'),
    commandTimeoutMs: dur(y.commandTimeout, 'commandTimeout'),
    statePath: y.statePath,
  };
}

/** A redis entry's `persistence:` → opt-out flag and policy override. */
export function instanceOptionsFromYaml(
  y: InstancePersistenceYaml = {},
  prefix: string,
): { optOut: boolean; policyOverride: Partial<PersistencePolicy> } {
  const o: Partial<PersistencePolicy> = {};
  if (y.save !== undefined) {
    try {
      o.savePoints = parseSavePoints(y.save);
    } catch (err) {
      throw new ConfigError(`${prefix}.save`, (err as Error).message);
    }
  }
  if (y.aofRewritePercentage !== undefined)
    o.aofRewritePercentage = num(y.aofRewritePercentage, `${prefix}.aofRewritePercentage`, 0, { integer: true });
  if (y.aofRewriteMinSize !== undefined) o.aofRewriteMinSize = parseBytes(y.aofRewriteMinSize, `${prefix}.aofRewriteMinSize`);
  if (y.rdbBackups !== undefined) o.rdbBackups = y.rdbBackups;
  return { optOut: y.optOut === true, policyOverride: o };
}
