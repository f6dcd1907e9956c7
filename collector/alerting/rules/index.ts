// The rule set: built-ins (with the config's overrides) plus the rule files.
import { ConfigError } from '../../../common/index.js';
import type { AlertingConfig } from '../config.js';
import { BUILTIN_RULES } from './builtin.js';
import { compileRules, loadRuleFile, RuleError, type RawRule } from './load.js';
import type { Rule } from './rule.js';

export { Evaluator } from './evaluate.js';
export { RuleError, compileRules, loadRuleFile } from './load.js';
export { BUILTIN_RULES, BUILTIN_INHIBIT_RULES } from './builtin.js';
export { ruleView, type Rule } from './rule.js';

export function builtinRules(cfg: AlertingConfig['builtins']): Rule[] {
  if (!cfg.enabled) return [];
  const known = new Set(BUILTIN_RULES.map((r) => r.name));
  for (const n of [...cfg.disable, ...Object.keys(cfg.overrides)]) {
    if (!known.has(n)) throw new ConfigError('alerting.builtins', `no built-in rule named ${n} (known: ${[...known].join(', ')})`);
  }
  const raws: RawRule[] = BUILTIN_RULES.filter((r) => !cfg.disable.includes(r.name)).map((r) => {
    const o = cfg.overrides[r.name];
    return o ? { ...r, ...o, labels: { ...r.labels, ...o.labels } } : r;
  });
  try {
    return compileRules(raws, 'builtin');
  } catch (err) {
    if (err instanceof RuleError) throw new ConfigError('alerting.builtins.overrides', err.message);
    throw err;
  }
}

/** Every rule: built-ins then files; a name defined twice is refused. Throws RuleError. */
export function loadRules(cfg: AlertingConfig): Rule[] {
  const rules = builtinRules(cfg.builtins);
  const seen = new Map(rules.map((r) => [r.name, r.source]));
  for (const file of cfg.ruleFiles) {
    for (const r of loadRuleFile(file)) {
      const other = seen.get(r.name);
      if (other)
        throw new RuleError(
          `${file}: rule ${r.name} is already defined in ${other} (disable the built-in in alerting.builtins.disable to replace it)`,
        );
      seen.set(r.name, file);
      rules.push(r);
    }
  }
  return rules;
}
