// Profiles pick the filter plugins and the weighted score plugins of a placement. Bin-packing
// and spreading are alternative profiles: min-memory and max-memory in one profile would
// cancel out.
import type { FilterPlugin, ScorePlugin } from './framework.js';
import { FILTER_PLUGINS, SCORE_PLUGINS, filterPlugin, scorePlugin } from './plugins/index.js';

export interface WeightedScore {
  plugin: ScorePlugin;
  weight: number;
}

export interface Profile {
  name: string;
  filters: readonly FilterPlugin[];
  scores: readonly WeightedScore[];
}

/** A profile as configured: plugin names (filters default to all, in registry order) and weights. */
export interface ProfileSpec {
  filters?: string[];
  scores: Record<string, number>;
}

export const BUILTIN_PROFILES: Record<string, ProfileSpec> = {
  'bin-packing': { scores: { 'min-memory': 1 } },
  spreading: { scores: { 'max-memory': 1, 'min-CPU': 1 } },
  random: { scores: { random: 1 } },
};

export const DEFAULT_PROFILE = 'spreading';

/** The profile for `spec`, or the key (relative to the profile) and problem of an unknown plugin. */
export function buildProfile(name: string, spec: ProfileSpec): Profile | { key: string; problem: string } {
  const filters: FilterPlugin[] = [];
  for (const [i, f] of (spec.filters ?? FILTER_PLUGINS.map((p) => p.name)).entries()) {
    const p = filterPlugin(f);
    if (!p)
      return {
        key: `filters[${i}]`,
        problem: `unknown filter plugin ${JSON.stringify(f)} (known: ${FILTER_PLUGINS.map((x) => x.name).join(', ')})`,
      };
    filters.push(p);
  }
  const scores: WeightedScore[] = [];
  for (const [s, weight] of Object.entries(spec.scores)) {
    const p = scorePlugin(s);
    if (!p) return { key: `scores.${s}`, problem: `unknown score plugin (known: ${SCORE_PLUGINS.map((x) => x.name).join(', ')})` };
    if (weight > 0) scores.push({ plugin: p, weight });
  }
  return { name, filters, scores };
}

/** A single score plugin used as the strategy: every filter, that plugin with weight 1. */
export function singlePluginProfile(plugin: ScorePlugin): Profile {
  return { name: plugin.name, filters: FILTER_PLUGINS, scores: [{ plugin, weight: 1 }] };
}
