// The operator's triggers (Redis `save`, `auto-aof-rewrite-percentage`) and the policy the
// scheduler applies in their place. Pure.
import type { PersistencePolicy, PolicySource, SavePoint } from './types.js';

/** The trigger settings as CONFIG GET reports them. */
export interface ObservedTriggers {
  save: string;
  aofRewritePercentage: number;
  aofRewriteMinSize: number;
}

/** The operator's trigger values as far as the scheduler knows them. */
export interface KnownTriggers {
  save: string;
  aofRewritePercentage: number;
  source: PolicySource;
}

/** The values the scheduler sets to switch Redis's own triggers off. */
export const TRIGGERS_OFF = { save: '', aofRewritePercentage: 0 } as const;

/** Redis's `save` string ("3600 1 300 100") → save points; throws on a malformed string. */
export function parseSavePoints(save: string): SavePoint[] {
  const parts = save.trim().split(/\s+/).filter(Boolean);
  if (parts.length % 2 !== 0) throw new Error(`save points must be "<seconds> <changes>" pairs (got ${JSON.stringify(save)})`);
  const out: SavePoint[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const seconds = Number(parts[i]);
    const changes = Number(parts[i + 1]);
    if (!Number.isInteger(seconds) || !Number.isInteger(changes) || seconds < 1 || changes < 0) {
      throw new Error(`save point "${parts[i]} ${parts[i + 1]}" is not two non-negative integers`);
    }
    out.push({ seconds, changes });
  }
  return out;
}

export function formatSavePoints(points: SavePoint[]): string {
  return points.map((p) => `${p.seconds} ${p.changes}`).join(' ');
}

/** True when Redis would fork by itself (some save point, or AOF auto-rewrite). */
export function triggersOn(t: Pick<ObservedTriggers, 'save' | 'aofRewritePercentage'>): boolean {
  return t.save.trim() !== '' || t.aofRewritePercentage !== 0;
}

/**
 * What the operator's triggers are after observing `t`. A trigger found on is the operator's
 * current wish (first sight, a restart, someone's CONFIG SET) and replaces what was known; a
 * trigger found off is most likely the scheduler's own doing, so the known value is kept.
 */
export function learnTriggers(prev: KnownTriggers | undefined, t: ObservedTriggers): KnownTriggers {
  const saveOn = t.save.trim() !== '';
  const aofOn = t.aofRewritePercentage !== 0;
  if (!prev) {
    return {
      save: saveOn ? t.save.trim() : '',
      aofRewritePercentage: t.aofRewritePercentage,
      source: saveOn || aofOn ? 'instance' : 'observed-off',
    };
  }
  return {
    save: saveOn ? t.save.trim() : prev.save,
    aofRewritePercentage: aofOn ? t.aofRewritePercentage : prev.aofRewritePercentage,
    source: saveOn || aofOn ? 'instance' : prev.source,
  };
}

/** The policy the scheduler applies: the operator's triggers, then the per-instance override. */
export function effectivePolicy(
  known: KnownTriggers,
  aofRewriteMinSize: number,
  override: Partial<PersistencePolicy> = {},
): PersistencePolicy {
  const savePoints = override.savePoints ?? parseSavePoints(known.save);
  return {
    savePoints,
    aofRewritePercentage: override.aofRewritePercentage ?? known.aofRewritePercentage,
    aofRewriteMinSize: override.aofRewriteMinSize ?? aofRewriteMinSize,
    rdbBackups: override.rdbBackups ?? savePoints.length > 0,
  };
}
