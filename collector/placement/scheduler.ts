// One placement cycle over the capacity table:
//   1. Filter every host for the first member (plugins in profile order, first "no" wins; the
//      reasons are counted for the explanation).
//   2. Score the feasible hosts with each score plugin, normalise per plugin to 0..100
//      (raw × 100 / max, reversed for lower-is-better: Kubernetes' DefaultNormalizeScore) and
//      combine by weight.
//   3. Pick members one at a time (picker.ts): a spread domain without a member of the same group
//      first, then the domain with the fewest members so far, then the highest total; ties
//      uniformly at random (reservoir sampling). After a pick only that host is filtered and
//      scored again (with the member added), against the same maxima.
// Nothing is reserved here: the caller holds the result or drops it.
import type { PlacementContext } from './framework.js';
import type { Profile } from './profiles.js';
import { Picker } from './picker.js';
import { scratch } from './scratch.js';
import type { IdleInstance } from './table.js';

export interface MemberPlan {
  member: number;
  group: number;
  row: number;
  hostId: string;
  idle: IdleInstance | null;
  memoryBytes: number;
  slot: number;
  total: number;
  scores: Record<string, number>;
}

export interface Rejections {
  hosts: number;
  feasible: number;
  /** reason → hosts, largest first */
  reasons: Record<string, number>;
}

export type Outcome =
  | { ok: true; members: MemberPlan[]; firstPass: Rejections }
  | { ok: false; failedMember: number; placed: number; rejections: Rejections; message: string };

export const GROUP_CONFLICT = 'already holds a member of the group';

export function schedule(ctx: PlacementContext, profile: Profile): Outcome {
  const { table, request } = ctx;
  const n = table.size;
  const filters = profile.filters.map((p) => p.prepare(ctx));
  const nFilters = filters.length;
  const runFilters = (row: number): string | null => {
    for (let f = 0; f < nFilters; f++) {
      const reason = filters[f]!(row);
      if (reason !== null) return reason;
    }
    return null;
  };

  // 1. Filter.
  const feasible = scratch.get('i32', 'feasible', n);
  let nf = 0;
  const reasons = new Map<string, number>();
  for (let row = 0; row < n; row++) {
    const reason = runFilters(row);
    if (reason === null) feasible[nf++] = row;
    else reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  const firstPass: Rejections = { hosts: n, feasible: nf, reasons: sortedCounts(reasons) };
  if (nf === 0) return failure(request.count, 0, firstPass);

  // 2. Score and normalise.
  const scorers = profile.scores.map((s) => s.plugin.prepare(ctx));
  const nScores = scorers.length;
  const raw = scorers.map((_, i) => scratch.get('f64', `raw${i}`, nf));
  const max = new Float64Array(nScores);
  for (let s = 0; s < nScores; s++) {
    const score = scorers[s]!;
    const out = raw[s]!;
    let m = 0;
    for (let j = 0; j < nf; j++) {
      const v = score(feasible[j]!);
      out[j] = v;
      if (v > m) m = v;
    }
    max[s] = m;
  }
  const normalise = (s: number, v: number): number => {
    const m = max[s]!;
    const lower = profile.scores[s]!.plugin.lowerIsBetter;
    if (m <= 0) return lower ? 100 : 0;
    const x = Math.min(100, Math.max(0, (v * 100) / m));
    return lower ? 100 - x : x;
  };
  const norm = raw.map((r, s) => {
    const out = scratch.get('f64', `norm${s}`, nf);
    for (let j = 0; j < nf; j++) out[j] = normalise(s, r[j]!);
    return out;
  });
  const total = scratch.get('f64', 'total', nf);
  for (let s = 0; s < nScores; s++) {
    const w = profile.scores[s]!.weight;
    const col = norm[s]!;
    for (let j = 0; j < nf; j++) total[j]! += w * col[j]!;
  }

  // 3. Pick members.
  const spread = request.spreadBy !== undefined ? table.labelColumn(request.spreadBy) : undefined;
  const fits = scratch.get('u8', 'fits', nf, 1);
  const lostReason = new Map<number, string>(); // feasible index → why it cannot take another member
  const lastGroup = scratch.get('i32', 'lastGroup', nf, -1);
  const antiAffinity = request.antiAffinity === 'group';
  const picker = new Picker(nf, feasible, spread?.ids, spread ? spread.cardinality : 1, total, fits, lastGroup, antiAffinity);
  const members: MemberPlan[] = [];

  for (let k = 0; k < request.count; k++) {
    const group = Math.floor(k / request.groupSize);
    const best = picker.pick(group);
    if (best < 0) return failure(request.count, k, explainStep(firstPass, nf, fits, lostReason, lastGroup, antiAffinity ? group : -1));

    const row = feasible[best]!;
    ctx.demand(row);
    const scores: Record<string, number> = {};
    for (let s = 0; s < nScores; s++) scores[profile.scores[s]!.plugin.name] = round(norm[s]![best]!);
    members.push({
      member: k,
      group,
      row,
      hostId: table.hostId(row),
      idle: ctx.demandIdle,
      memoryBytes: ctx.demandMemory,
      slot: ctx.demandSlot,
      total: round(total[best]!),
      scores,
    });
    ctx.take(row);
    lastGroup[best] = group;

    // The host now carries the member: can it take another, and how does it score now?
    const reason = runFilters(row);
    if (reason !== null) {
      fits[best] = 0;
      lostReason.set(best, reason);
    } else {
      let t = 0;
      for (let s = 0; s < nScores; s++) {
        const v = normalise(s, scorers[s]!(row));
        norm[s]![best] = v;
        t += profile.scores[s]!.weight * v;
      }
      total[best] = t;
    }
    picker.took(best);
  }
  return { ok: true, members, firstPass };
}

/** Why nothing was left for a later member: the first pass's reasons plus what the earlier members used up. */
function explainStep(
  first: Rejections,
  nf: number,
  fits: Uint8Array,
  lost: Map<number, string>,
  lastGroup: Int32Array,
  group: number,
): Rejections {
  const reasons = new Map(Object.entries(first.reasons));
  for (let j = 0; j < nf; j++) {
    const reason = fits[j] === 0 ? lost.get(j)! : group >= 0 && lastGroup[j] === group ? GROUP_CONFLICT : null;
    if (reason !== null) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  return { hosts: first.hosts, feasible: 0, reasons: sortedCounts(reasons) };
}

function failure(count: number, member: number, rejections: Rejections): Outcome {
  return { ok: false, failedMember: member, placed: member, rejections, message: explain(rejections, member, count) };
}

const fmt = (x: number): string => x.toLocaleString('en-US');

/** "0/3,200 hosts: 2,900 label mismatch, 250 insufficient memory, 50 unhealthy" */
export function explain(r: Rejections, member: number, count: number): string {
  const which = member > 0 ? ` for member ${member + 1} of ${count}` : '';
  const parts = Object.entries(r.reasons).map(([reason, hosts]) => `${fmt(hosts)} ${reason}`);
  return `${fmt(r.feasible)}/${fmt(r.hosts)} hosts${which}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

function sortedCounts(m: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

const round = (x: number): number => Math.round(x * 100) / 100;
