// Rule files: YAML `rules: [...]`, validated with clear messages naming the file, the
// rule and the key. Loading is all-or-nothing: one bad rule refuses the whole set (the
// caller keeps running the previous one).
import fs from 'node:fs';
import YAML from 'yaml';
import { ConfigError, parseDuration, validate } from '../../../common/index.js';
import { MEASUREMENTS } from '../../../proto/index.js';
import { compileMatchers, labelNameProblem, parseMatcher } from '../labels.js';
import type { Labels } from '../types.js';
import { COMPARE_OPS, parseExpr, type CompareOp } from './expr.js';
import { FLUCTUATION_FUNCS, type FluctuationFunc, type Rule, type RuleKind } from './rule.js';

export class RuleError extends Error {
  override name = 'RuleError';
}

export interface RawRule {
  name: string;
  kind?: RuleKind;
  measurement?: string;
  expr?: string;
  op?: string;
  value?: number | string;
  for?: string | number;
  keepFiringFor?: string | number;
  where?: string[];
  labels?: Labels;
  annotations?: Labels;
  func?: string;
  points?: number;
  offset?: string | number;
  minBaseline?: number;
  event?: string;
  resolvedBy?: string;
  resolveAfter?: string | number;
  attrs?: string[];
}

const duration = { type: ['string', 'number'] };
const labelMap = { type: 'object', additionalProperties: { type: 'string' } };

const RULE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_:]*$' },
    kind: { enum: ['threshold', 'fluctuation', 'absence', 'event'] },
    measurement: { type: 'string' },
    expr: { type: 'string', minLength: 1 },
    op: { type: 'string' },
    value: { type: ['number', 'string'] },
    for: duration,
    keepFiringFor: duration,
    where: { type: 'array', items: { type: 'string' } },
    labels: labelMap,
    annotations: labelMap,
    func: { type: 'string' },
    points: { type: 'integer', minimum: 1, maximum: 60 },
    offset: duration,
    minBaseline: { type: 'number', minimum: 0 },
    event: { type: 'string', minLength: 1 },
    resolvedBy: { type: 'string', minLength: 1 },
    resolveAfter: duration,
    attrs: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
  },
} as const;

const FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['rules'],
  properties: { rules: { type: 'array', items: { type: 'object' } } },
} as const;

function need<T>(v: T | undefined, key: string, why: string): T {
  if (v === undefined) throw new ConfigError(key, why);
  return v;
}

/** Validates and compiles one rule; throws ConfigError with a key relative to the rule. */
export function compileRule(raw: RawRule, source: string): Rule {
  validate(RULE_SCHEMA, raw);
  const kind: RuleKind = raw.kind ?? (raw.event ? 'event' : raw.func ? 'fluctuation' : 'threshold');
  const measurement = kind === 'event' ? 'event' : need(raw.measurement, 'measurement', `is required for a ${kind} rule`);
  if (!MEASUREMENTS[measurement])
    throw new ConfigError(
      'measurement',
      `unknown measurement ${JSON.stringify(measurement)} (known: ${Object.keys(MEASUREMENTS).join(', ')})`,
    );
  const where = (raw.where ?? []).map((text, i) => {
    try {
      return parseMatcher(text);
    } catch (err) {
      throw new ConfigError(`where[${i}]`, (err as Error).message);
    }
  });
  for (const [k] of Object.entries({ ...raw.labels, ...raw.annotations })) {
    const p = labelNameProblem(k);
    if (p) throw new ConfigError('labels', p);
  }
  const labels: Labels = { severity: 'warning', ...raw.labels };
  const rule: Rule = {
    name: raw.name,
    kind,
    source,
    measurement,
    where,
    matchWhere: compileMatchers(where),
    labels,
    annotations: { ...raw.annotations },
    forMs: raw.for === undefined ? 0 : parseDuration(raw.for, 'for'),
    keepFiringForMs: raw.keepFiringFor === undefined ? 0 : parseDuration(raw.keepFiringFor, 'keepFiringFor'),
  };
  const refuse = (keys: (keyof RawRule)[]) => {
    for (const k of keys) if (raw[k] !== undefined) throw new ConfigError(k, `does not apply to a ${kind} rule`);
  };

  if (kind === 'threshold' || kind === 'fluctuation') {
    refuse(['event', 'resolvedBy', 'resolveAfter', 'attrs']);
    try {
      rule.expr = parseExpr(measurement, need(raw.expr, 'expr', `is required for a ${kind} rule`));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError('expr', (err as Error).message);
    }
    const op = need(raw.op, 'op', `is required (one of ${COMPARE_OPS.join(' ')})`);
    if (!COMPARE_OPS.includes(op as CompareOp))
      throw new ConfigError('op', `must be one of ${COMPARE_OPS.join(' ')} (got ${JSON.stringify(op)})`);
    rule.op = op as CompareOp;
    rule.value = need(raw.value, 'value', 'is required');
    if (rule.expr.isString) {
      if (op !== '==' && op !== '!=') throw new ConfigError('op', `a string field compares only with == or != (got ${op})`);
      if (kind === 'fluctuation') throw new ConfigError('expr', 'a fluctuation rule needs a numeric field');
    } else if (typeof rule.value !== 'number') {
      throw new ConfigError('value', `must be a number for the numeric expression ${rule.expr.text}`);
    }
  }
  if (kind === 'threshold') refuse(['func', 'points', 'offset', 'minBaseline']);
  if (kind === 'fluctuation') {
    const func = need(raw.func, 'func', `is required (one of ${FLUCTUATION_FUNCS.join(', ')})`);
    if (!FLUCTUATION_FUNCS.includes(func as FluctuationFunc))
      throw new ConfigError('func', `must be one of ${FLUCTUATION_FUNCS.join(', ')} (got ${JSON.stringify(func)})`);
    rule.func = func as FluctuationFunc;
    if (func.startsWith('offset_')) {
      rule.offsetMs = parseDuration(need(raw.offset, 'offset', `is required for ${func} (e.g. 1d for "same time yesterday")`), 'offset');
      if (rule.offsetMs < 1000) throw new ConfigError('offset', 'must be at least 1s');
      if (raw.points !== undefined) throw new ConfigError('points', `does not apply to ${func}`);
    } else {
      rule.points = need(raw.points, 'points', `is required for ${func}(#N)`);
      if (raw.offset !== undefined) throw new ConfigError('offset', `does not apply to ${func}`);
    }
    rule.minBaseline = raw.minBaseline ?? 0;
  }
  if (kind === 'absence') {
    refuse([
      'expr',
      'op',
      'value',
      'func',
      'points',
      'offset',
      'minBaseline',
      'event',
      'resolvedBy',
      'resolveAfter',
      'attrs',
      'keepFiringFor',
    ]);
    rule.forMs = parseDuration(need(raw.for, 'for', 'is required for an absence rule (how long without a point)'), 'for');
    if (rule.forMs < 1000) throw new ConfigError('for', 'must be at least 1s for an absence rule');
  }
  if (kind === 'event') {
    refuse(['expr', 'op', 'value', 'func', 'points', 'offset', 'minBaseline']);
    if (raw.measurement !== undefined && raw.measurement !== 'event')
      throw new ConfigError('measurement', 'an event rule reads the event measurement');
    rule.event = need(raw.event, 'event', 'is required (the event kind, e.g. proxy.down)');
    rule.resolvedBy = raw.resolvedBy;
    rule.attrs = raw.attrs ?? [];
    // An event nothing resolves would fire forever: resolve it an hour after its last occurrence.
    if (raw.resolveAfter !== undefined) rule.resolveAfterMs = parseDuration(raw.resolveAfter, 'resolveAfter');
    else if (!raw.resolvedBy) rule.resolveAfterMs = 3_600_000;
  }
  return rule;
}

/** Compiles a list of raw rules; errors name `<source> rules[i] (name).key`. */
export function compileRules(raws: unknown[], source: string, path = 'rules'): Rule[] {
  const out: Rule[] = [];
  const names = new Set<string>();
  raws.forEach((raw, i) => {
    const name = (raw as { name?: unknown })?.name;
    const where = `${source} ${path}[${i}]${typeof name === 'string' ? ` (${name})` : ''}`;
    try {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('', 'must be a mapping');
      const r = compileRule(raw as RawRule, source);
      if (names.has(r.name)) throw new ConfigError('name', `duplicate rule name ${r.name}`);
      names.add(r.name);
      out.push(r);
    } catch (err) {
      if (err instanceof ConfigError) throw new RuleError(`${where}${err.key ? `.${err.key}` : ''}: ${err.problem}`);
      throw err;
    }
  });
  return out;
}

/** Reads one rule file (YAML `rules: [...]`). */
export function loadRuleFile(file: string): Rule[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new RuleError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let data: unknown;
  try {
    data = YAML.parse(text);
  } catch (err) {
    throw new RuleError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    validate(FILE_SCHEMA, data ?? {});
  } catch (err) {
    if (err instanceof ConfigError) throw new RuleError(`${file}: ${err.message}`);
    throw err;
  }
  return compileRules((data as { rules: unknown[] }).rules, file);
}
