// Picks the next member's host among the feasible ones: a spread domain with no member of the
// current group first, then the domain with the fewest members, then the highest total score;
// ties uniformly at random. The feasible hosts are bucketed by domain once and each domain's
// best host is cached: a pick re-scans only the domain it changed (and, when a new group starts,
// the domains the previous group used, whose hosts are eligible again), not every host.
import { scratch } from './scratch.js';

export class Picker {
  private readonly domainOfJ: Int32Array;
  private readonly bucketStart: Int32Array;
  private readonly bucket: Int32Array;
  private readonly best: Int32Array;
  private readonly bestTies: Int32Array;
  private readonly dirty: Uint8Array;
  private readonly domainCount: Int32Array;
  private readonly groupDomainCount: Int32Array;
  private usedByGroup: number[] = [];
  private group = -1;

  /**
   * `feasible[j]` is a table row, `domainOfRow[row]` its spread domain (undefined: one domain),
   * `total[j]` / `fits[j]` / `lastGroup[j]` the scheduler's per-candidate state, read on re-scan.
   */
  constructor(
    nf: number,
    feasible: Int32Array,
    domainOfRow: Int32Array | undefined,
    private readonly domains: number,
    private readonly total: Float64Array,
    private readonly fits: Uint8Array,
    private readonly lastGroup: Int32Array,
    private readonly antiAffinity: boolean,
  ) {
    this.domainOfJ = scratch.get('i32', 'pickerDomain', nf);
    this.bucketStart = new Int32Array(domains + 1);
    for (let j = 0; j < nf; j++) {
      const d = domainOfRow ? domainOfRow[feasible[j]!]! : 0;
      this.domainOfJ[j] = d;
      this.bucketStart[d + 1]!++;
    }
    for (let d = 0; d < domains; d++) this.bucketStart[d + 1]! += this.bucketStart[d]!;
    this.bucket = scratch.get('i32', 'pickerBucket', nf);
    const next = this.bucketStart.slice(0, domains);
    for (let j = 0; j < nf; j++) this.bucket[next[this.domainOfJ[j]!]!++] = j;
    this.best = new Int32Array(domains).fill(-1);
    this.bestTies = new Int32Array(domains);
    this.dirty = new Uint8Array(domains).fill(1);
    this.domainCount = new Int32Array(domains);
    this.groupDomainCount = new Int32Array(domains);
  }

  /** The feasible index for the next member of `group`, or -1 when no host can take it. */
  pick(group: number): number {
    if (group !== this.group) {
      this.group = group;
      for (const d of this.usedByGroup) this.dirty[d] = 1;
      this.usedByGroup = [];
      this.groupDomainCount.fill(0);
    }
    let bestJ = -1;
    let bestG = 0;
    let bestD = 0;
    let bestT = -Infinity;
    let ties = 0;
    for (let d = 0; d < this.domains; d++) {
      if (this.dirty[d]) this.rescan(d);
      const j = this.best[d]!;
      if (j < 0) continue;
      const g = this.groupDomainCount[d]!;
      const c = this.domainCount[d]!;
      const t = this.total[j]!;
      if (bestJ < 0 || g < bestG || (g === bestG && (c < bestD || (c === bestD && t > bestT)))) {
        bestJ = j;
        bestG = g;
        bestD = c;
        bestT = t;
        ties = this.bestTies[d]!;
      } else if (g === bestG && c === bestD && t === bestT) {
        // Uniform over every tied host: this domain wins with its share of the ties.
        ties += this.bestTies[d]!;
        if (Math.random() * ties < this.bestTies[d]!) bestJ = j;
      }
    }
    return bestJ;
  }

  /** Candidate j took a member (its total / fits may have changed since). */
  took(j: number): void {
    const d = this.domainOfJ[j]!;
    this.domainCount[d]!++;
    this.groupDomainCount[d]!++;
    this.dirty[d] = 1;
    this.usedByGroup.push(d);
  }

  private rescan(d: number): void {
    const { bucket, fits, lastGroup, total, antiAffinity, group } = this;
    let best = -1;
    let bestT = -Infinity;
    let ties = 0;
    for (let i = this.bucketStart[d]!, end = this.bucketStart[d + 1]!; i < end; i++) {
      const j = bucket[i]!;
      if (fits[j] === 0) continue;
      if (antiAffinity && lastGroup[j] === group) continue;
      const t = total[j]!;
      if (t > bestT) {
        best = j;
        bestT = t;
        ties = 1;
      } else if (t === bestT && Math.random() * ++ties < 1) best = j;
    }
    this.best[d] = best;
    this.bestTies[d] = ties;
    this.dirty[d] = 0;
  }
}
