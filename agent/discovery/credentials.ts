// Credentials for discovered instances, from config rules matched by port or cluster.
import { ConfigError } from '../../common/index.js';
import type { DiscoveredInstance } from './types.js';

export interface CredentialRule {
  /** "6379-6390,7000": ranges and single ports, comma-separated. */
  ports?: string;
  cluster?: string;
  user?: string;
  password?: string;
}

export interface ResolvedTarget {
  instance: DiscoveredInstance;
  address: string;
  user?: string;
  password?: string;
  /** The instance's own cluster (codis product_name), else the matching rule's, else ''. */
  cluster: string;
  /** Index of the rule that matched, -1 for none. */
  rule: number;
}

export type PortSet = Array<[number, number]>;

/** "6379-6390,7000" → [[6379,6390],[7000,7000]]; a ConfigError naming `key` on anything else. */
export function parsePortRanges(spec: string, key = 'ports'): PortSet {
  const out: PortSet = [];
  for (const part of spec.split(',').map((s) => s.trim())) {
    const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(part);
    const lo = Number(m?.[1]);
    const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
    if (!m || lo < 1 || hi > 65535 || lo > hi)
      throw new ConfigError(key, `must be ports or ranges like "6379-6390,7000" (got ${JSON.stringify(spec)})`);
    out.push([lo, hi]);
  }
  return out;
}

export const portInSet = (set: PortSet, port: number): boolean => set.some(([lo, hi]) => port >= lo && port <= hi);

interface CompiledRule {
  rule: CredentialRule;
  ports?: PortSet;
}

/**
 * A rule matches when every criterion it gives holds: its ports include the instance's port (the one
 * the agent dials), its cluster equals the instance's. Procfs tells no cluster for a plain Redis, so
 * there a cluster criterion is met through the same rule's ports, and the rule's cluster becomes the
 * instance's label. A rule with neither criterion matches everything (a default). First match wins.
 */
export function resolveCredentials(
  discovered: { instances: readonly DiscoveredInstance[] } | readonly DiscoveredInstance[],
  rules: readonly CredentialRule[],
): ResolvedTarget[] {
  const compiled: CompiledRule[] = rules.map((rule, i) => ({
    rule,
    ...(rule.ports !== undefined ? { ports: parsePortRanges(rule.ports, `rules[${i}].ports`) } : {}),
  }));
  const list = 'instances' in discovered ? discovered.instances : discovered;
  return list.map((instance) => {
    const index = compiled.findIndex((c) => matches(c, instance));
    const target: ResolvedTarget = { instance, address: instance.address, cluster: instance.cluster ?? '', rule: index };
    const rule = compiled[index]?.rule;
    if (rule) {
      if (rule.user !== undefined) target.user = rule.user;
      if (rule.password !== undefined) target.password = rule.password;
      if (target.cluster === '' && rule.cluster !== undefined) target.cluster = rule.cluster;
    }
    return target;
  });
}

function matches(c: CompiledRule, inst: DiscoveredInstance): boolean {
  if (c.ports && !portInSet(c.ports, inst.port)) return false;
  if (c.rule.cluster !== undefined) {
    if (inst.cluster !== undefined) return inst.cluster === c.rule.cluster;
    return c.ports !== undefined;
  }
  return true;
}
