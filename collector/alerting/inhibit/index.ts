// Inhibition (Alertmanager semantics): a firing alert matching an inhibit rule's source
// mutes the alerts matching its target whose `equal` labels have the same values (a
// missing label equals an empty one). An alert matching both sides is not inhibited by
// alerts that also match both sides, so nothing inhibits itself.
import { compileMatchers, parseMatcher, type CompiledMatchers } from '../labels.js';
import type { Labels } from '../types.js';

export interface InhibitRuleConfig {
  name?: string;
  sourceMatchers: string[];
  targetMatchers: string[];
  equal: string[];
}

interface InhibitRule {
  name: string;
  source: CompiledMatchers;
  target: CompiledMatchers;
  equal: string[];
}

export function compileInhibitRules(raws: InhibitRuleConfig[], key: string): InhibitRule[] {
  return raws.map((r, i) => {
    const parse = (list: string[], which: string) =>
      compileMatchers(
        list.map((m, j) => {
          try {
            return parseMatcher(m);
          } catch (err) {
            throw new Error(`${key}[${i}].${which}[${j}]: ${(err as Error).message}`);
          }
        }),
      );
    return {
      name: r.name ?? `inhibit-${i}`,
      source: parse(r.sourceMatchers, 'sourceMatchers'),
      target: parse(r.targetMatchers, 'targetMatchers'),
      equal: r.equal,
    };
  });
}

export class Inhibitor {
  constructor(private rules: InhibitRule[]) {}

  /** Fingerprint of the first firing alert inhibiting `labels`, or undefined. */
  inhibitedBy(labels: Labels, firing: { fingerprint: string; labels: Labels }[]): string | undefined {
    for (const r of this.rules) {
      if (!r.target(labels)) continue;
      const targetIsSource = r.source(labels);
      for (const s of firing) {
        if (s.labels === labels || !r.source(s.labels)) continue;
        if (targetIsSource && r.target(s.labels)) continue;
        if (r.equal.every((k) => (s.labels[k] ?? '') === (labels[k] ?? ''))) return s.fingerprint;
      }
    }
    return undefined;
  }
}
