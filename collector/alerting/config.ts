// The collector's `alerting:` section: rules (files + built-ins), route tree, receivers
// with their notifiers, inhibit rules, delivery and history. Validated at startup
// (ConfigError naming the key → exit 78); rule files are re-read on reload.
import { ConfigError, parseDuration, validate } from '../../common/index.js';
import { compileMatchers, parseMatcher, type CompiledMatchers } from './labels.js';
import { BUILTIN_INHIBIT_RULES } from './rules/builtin.js';
import type { InhibitRuleConfig } from './inhibit/index.js';
import { NOTIFIERS, type Notifier } from './notifiers/index.js';

export interface RouteConfig {
  id: string;
  receiver: string;
  match: CompiledMatchers;
  groupBy: string[] | 'all';
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  continue: boolean;
  routes: RouteConfig[];
}

export interface Integration {
  /** `<receiver>/<kind>[i]`: the outbox key. */
  name: string;
  receiver: string;
  kind: string;
  notifier: Notifier;
  sendResolved: boolean;
  ratePerMinute?: number;
  mergeable: boolean;
  timeoutMs: number;
}

export interface AlertingConfig {
  enabled: boolean;
  externalUrl: string;
  evaluationIntervalMs: number;
  ruleFiles: string[];
  builtins: { enabled: boolean; disable: string[]; overrides: Record<string, BuiltinOverride> };
  route: RouteConfig;
  receivers: Map<string, Integration[]>;
  inhibitRules: InhibitRuleConfig[];
  delivery: { maxRetryAgeMs: number; timeoutMs: number };
  historyRetentionMs: number;
}

export interface BuiltinOverride {
  value?: number | string;
  for?: string | number;
  labels?: Record<string, string>;
  where?: string[];
}

export const ALERTING_DEFAULTS = {
  groupBy: ['alertname', 'host'],
  groupWait: '1s',
  groupInterval: '30s',
  repeatInterval: '4h',
  evaluationInterval: '1s',
  maxRetryAge: '1h',
  timeout: '10s',
  historyRetention: '7d',
} as const;

const duration = { type: ['string', 'number'] };
const strings = { type: 'array', items: { type: 'string' } };

const routeSchema = (root: boolean): Record<string, unknown> => ({
  type: 'object',
  additionalProperties: false,
  properties: {
    receiver: { type: 'string', minLength: 1 },
    matchers: strings,
    groupBy: strings,
    groupWait: duration,
    groupInterval: duration,
    repeatInterval: duration,
    continue: { type: 'boolean' },
    routes: { type: 'array', items: { type: 'object' } },
  },
  ...(root ? {} : {}),
});

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean', default: true },
    externalUrl: { type: 'string', default: '' },
    evaluationInterval: { ...duration, default: ALERTING_DEFAULTS.evaluationInterval },
    ruleFiles: { ...strings, default: [] },
    builtins: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        disable: { ...strings, default: [] },
        overrides: {
          type: 'object',
          default: {},
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: {
              value: { type: ['number', 'string'] },
              for: duration,
              labels: { type: 'object', additionalProperties: { type: 'string' } },
              where: strings,
            },
          },
        },
      },
    },
    route: { ...routeSchema(true), default: {} },
    receivers: {
      type: 'array',
      default: [],
      items: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
    },
    inhibitRules: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sourceMatchers', 'targetMatchers'],
        properties: { name: { type: 'string' }, sourceMatchers: strings, targetMatchers: strings, equal: { ...strings, default: [] } },
      },
    },
    builtinInhibitRules: { type: 'boolean', default: true },
    delivery: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxRetryAge: { ...duration, default: ALERTING_DEFAULTS.maxRetryAge },
        timeout: { ...duration, default: ALERTING_DEFAULTS.timeout },
      },
    },
    history: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { retention: { ...duration, default: ALERTING_DEFAULTS.historyRetention } },
    },
  },
} as const;

interface RawRoute {
  receiver?: string;
  matchers?: string[];
  groupBy?: string[];
  groupWait?: string | number;
  groupInterval?: string | number;
  repeatInterval?: string | number;
  continue?: boolean;
  routes?: RawRoute[];
}

interface Raw {
  enabled: boolean;
  externalUrl: string;
  evaluationInterval: string | number;
  ruleFiles: string[];
  builtins: AlertingConfig['builtins'];
  route: RawRoute;
  receivers: ({ name: string } & Record<string, unknown>)[];
  inhibitRules?: InhibitRuleConfig[];
  builtinInhibitRules: boolean;
  delivery: { maxRetryAge: string | number; timeout: string | number };
  history: { retention: string | number };
}

function resolveRoute(raw: RawRoute, key: string, parent: RouteConfig | undefined, receivers: Set<string>, id: string): RouteConfig {
  if (parent) validate(routeSchema(false), raw);
  const receiver = raw.receiver ?? parent?.receiver;
  if (!receiver) throw new ConfigError(`${key}.receiver`, 'is required on the root route');
  if (!receivers.has(receiver))
    throw new ConfigError(`${key}.receiver`, `no receiver named ${JSON.stringify(receiver)} (have: ${[...receivers].join(', ')})`);
  const matchers = (raw.matchers ?? []).map((m, i) => {
    try {
      return parseMatcher(m);
    } catch (err) {
      throw new ConfigError(`${key}.matchers[${i}]`, (err as Error).message);
    }
  });
  if (!parent && matchers.length)
    throw new ConfigError(`${key}.matchers`, 'the root route matches every alert: put matchers on child routes');
  const groupBy = raw.groupBy
    ? raw.groupBy.includes('...')
      ? ('all' as const)
      : raw.groupBy
    : (parent?.groupBy ?? [...ALERTING_DEFAULTS.groupBy]);
  const dur = (k: 'groupWait' | 'groupInterval' | 'repeatInterval', inherited: number | undefined) =>
    raw[k] !== undefined ? parseDuration(raw[k], `${key}.${k}`) : (inherited ?? parseDuration(ALERTING_DEFAULTS[k], `${key}.${k}`));
  const route: RouteConfig = {
    id,
    receiver,
    match: compileMatchers(matchers),
    groupBy,
    groupWaitMs: dur('groupWait', parent?.groupWaitMs),
    groupIntervalMs: Math.max(100, dur('groupInterval', parent?.groupIntervalMs)),
    repeatIntervalMs: dur('repeatInterval', parent?.repeatIntervalMs),
    continue: raw.continue ?? false,
    routes: [],
  };
  route.routes = (raw.routes ?? []).map((r, i) => {
    const childKey = `${key}.routes[${i}]`;
    const text = (r.matchers ?? []).join(',');
    return resolveRoute(r, childKey, route, receivers, `${id}/${i}{${text}}`);
  });
  return route;
}

const COMMON_INTEGRATION_PROPS = {
  sendResolved: { type: 'boolean' },
  rateLimitPerMinute: { type: 'number', exclusiveMinimum: 0 },
  timeout: duration,
};

function resolveReceivers(raws: Raw['receivers'], timeoutMs: number): Map<string, Integration[]> {
  const out = new Map<string, Integration[]>();
  raws.forEach((r, i) => {
    const key = `alerting.receivers[${i}]`;
    if (out.has(r.name)) throw new ConfigError(`${key}.name`, `duplicate receiver ${r.name}`);
    const integrations: Integration[] = [];
    for (const [k, v] of Object.entries(r)) {
      if (k === 'name') continue;
      const kind = NOTIFIERS[k];
      if (!kind) throw new ConfigError(`${key}.${k}`, `unknown notifier (known: ${Object.keys(NOTIFIERS).join(', ')})`);
      if (!Array.isArray(v)) throw new ConfigError(`${key}.${k}`, 'must be a list of notifier entries');
      v.forEach((entry: unknown, j: number) => {
        const ekey = `${key}.${k}[${j}]`;
        const schema = {
          type: 'object',
          additionalProperties: false,
          ...kind.schema,
          properties: { ...(kind.schema.properties as object), ...COMMON_INTEGRATION_PROPS },
        };
        let c: Record<string, unknown>;
        try {
          c = validate<Record<string, unknown>>(schema, entry ?? {});
          const notifier = kind.create(c);
          integrations.push({
            name: `${r.name}/${k}[${j}]`,
            receiver: r.name,
            kind: k,
            notifier,
            sendResolved: (c.sendResolved as boolean | undefined) ?? kind.defaults.sendResolved,
            ratePerMinute: (c.rateLimitPerMinute as number | undefined) ?? kind.defaults.ratePerMinute,
            mergeable: kind.defaults.mergeable,
            timeoutMs: c.timeout !== undefined ? parseDuration(c.timeout, 'timeout') : timeoutMs,
          });
        } catch (err) {
          if (err instanceof ConfigError)
            throw new ConfigError(`${ekey}${err.key && err.key !== '(root)' ? `.${err.key}` : ''}`, err.problem);
          throw err;
        }
      });
    }
    out.set(r.name, integrations);
  });
  return out;
}

/** Validates `alerting:` (absent = built-in rules on, no receivers). */
export function resolveAlertingConfig(data: unknown): AlertingConfig {
  let raw: Raw;
  try {
    raw = validate<Raw>(SCHEMA, data ?? {});
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`alerting${err.key && err.key !== '(root)' ? `.${err.key}` : ''}`, err.problem);
    throw err;
  }
  const delivery = {
    maxRetryAgeMs: parseDuration(raw.delivery.maxRetryAge, 'alerting.delivery.maxRetryAge'),
    timeoutMs: parseDuration(raw.delivery.timeout, 'alerting.delivery.timeout'),
  };
  const receivers = resolveReceivers(raw.receivers, delivery.timeoutMs);
  // Without receivers alerts are still evaluated and listed in the API.
  if (receivers.size === 0) receivers.set('none', []);
  const route = resolveRoute(
    { receiver: raw.route.receiver ?? [...receivers.keys()][0], ...raw.route },
    'alerting.route',
    undefined,
    new Set(receivers.keys()),
    '{}',
  );
  const inhibitRules = [...(raw.builtinInhibitRules ? BUILTIN_INHIBIT_RULES : []), ...(raw.inhibitRules ?? [])];
  inhibitRules.forEach((r, i) => {
    for (const [which, list] of [
      ['sourceMatchers', r.sourceMatchers],
      ['targetMatchers', r.targetMatchers],
    ] as const) {
      list.forEach((m, j) => {
        try {
          parseMatcher(m);
        } catch (err) {
          throw new ConfigError(`alerting.inhibitRules[${i}].${which}[${j}]`, (err as Error).message);
        }
      });
    }
  });
  const evaluationIntervalMs = parseDuration(raw.evaluationInterval, 'alerting.evaluationInterval');
  if (evaluationIntervalMs < 100) throw new ConfigError('alerting.evaluationInterval', 'must be at least 100ms');
  return {
    enabled: raw.enabled,
    externalUrl: raw.externalUrl.replace(/\/+$/, ''),
    evaluationIntervalMs,
    ruleFiles: raw.ruleFiles,
    builtins: raw.builtins,
    route,
    receivers,
    inhibitRules,
    delivery,
    historyRetentionMs: parseDuration(raw.history.retention, 'alerting.history.retention'),
  };
}
