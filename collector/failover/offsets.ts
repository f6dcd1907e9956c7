// The replication offset difference between a group's master and each replica (the curve
// operators watch during a resync or a failover): master and replica are sampled by different
// agents, so the collector pairs the latest samples sharing a master_replid and writes one
// `redis_repl_offset` point per pair when either side reports.
import { infoPicker, MEASUREMENTS, type RedisSample } from '../../proto/index.js';
import type { Point } from '../points.js';

/** Samples older than this are not paired (the other side stopped reporting). */
export const OFFSET_PAIR_MAX_AGE_MS = 60_000;
/** Sides too old to pair are let go this often (pairing checks their age anyway). */
const PRUNE_EVERY_MS = 10_000;

interface Side {
  address: string;
  replid: string;
  offset: number;
  at: number;
  cluster: string;
  group: string;
}

const DEF = MEASUREMENTS.redis_repl_offset!;

// One pass over a sample's INFO for the three values (sampleInfo by name would index every schema
// field of every sample for them).
const pickOffsets = infoPicker(['master_replid', 'master_repl_offset', 'slave_repl_offset']);
const num = (v: number | string | undefined): number | null => (typeof v === 'number' ? v : null);

/**
 * The side kept for `s` (one object per map entry, changed in place from report to report: no
 * caller keeps a side past onSamples).
 */
function keep(side: Side | undefined, s: RedisSample, replid: string, offset: number, at: number): Side {
  if (!side) return { address: s.address, replid, offset, at, cluster: s.cluster, group: s.group };
  side.address = s.address;
  side.replid = replid;
  side.offset = offset;
  side.at = at;
  side.cluster = s.cluster;
  side.group = s.group;
  return side;
}

export class ReplOffsets {
  private readonly masters = new Map<string, Side>();
  /** replid → replica address → its latest offset. */
  private readonly replicas = new Map<string, Map<string, Side>>();
  /** Replica address → the replid of the one map in `replicas` that holds it. */
  private readonly replicaOf = new Map<string, string>();
  /** The replids one onSamples() call touched, first seen first (reused from call to call). */
  private readonly touched: string[] = [];
  private lastPrune = 0;

  onSamples(samples: readonly RedisSample[], now = Date.now()): Point[] {
    const touched = this.touched;
    touched.length = 0;
    for (const s of samples) {
      if (!s.up || (s.role !== 'master' && s.role !== 'slave')) continue;
      const [replidValue, masterOffset, slaveOffset] = pickOffsets(s);
      const replid = replidValue === undefined ? '' : String(replidValue);
      const offset = s.role === 'slave' ? (num(slaveOffset) ?? num(masterOffset)) : num(masterOffset);
      if (!replid || offset === null) continue;
      const at = s.sampledAtMs || now;
      if (s.role === 'master') this.masters.set(replid, keep(this.masters.get(replid), s, replid, offset, at));
      else {
        const was = this.replicaOf.get(s.address);
        if (was !== undefined && was !== replid) {
          const old = this.replicas.get(was);
          if (old?.delete(s.address) && old.size === 0) this.replicas.delete(was);
        }
        this.replicaOf.set(s.address, replid);
        let m = this.replicas.get(replid);
        if (!m) this.replicas.set(replid, (m = new Map()));
        m.set(s.address, keep(m.get(s.address), s, replid, offset, at));
      }
      if (!touched.includes(replid)) touched.push(replid);
    }
    const out: Point[] = [];
    for (const replid of touched) {
      const m = this.masters.get(replid);
      if (!m || now - m.at > OFFSET_PAIR_MAX_AGE_MS) continue;
      const reps = this.replicas.get(replid);
      if (!reps) continue;
      for (const r of reps.values()) {
        if (now - r.at > OFFSET_PAIR_MAX_AGE_MS) continue;
        const tags: Record<string, string> = { master: m.address, replica: r.address };
        const cluster = m.cluster || r.cluster;
        const group = m.group || r.group;
        if (cluster) tags.cluster = cluster;
        if (group) tags.group = group;
        out.push({
          measurement: DEF.name,
          tags,
          time: Math.max(m.at, r.at),
          fields: {
            master_offset: m.offset,
            replica_offset: r.offset,
            diff_bytes: m.offset - r.offset,
            sample_gap_ms: Math.abs(m.at - r.at),
          },
        });
      }
    }
    touched.length = 0;
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      this.prune(now);
    }
    return out;
  }

  private prune(now: number): void {
    for (const [id, m] of this.masters) if (now - m.at > OFFSET_PAIR_MAX_AGE_MS) this.masters.delete(id);
    for (const [id, reps] of this.replicas) {
      for (const [a, r] of reps)
        if (now - r.at > OFFSET_PAIR_MAX_AGE_MS) {
          reps.delete(a);
          this.replicaOf.delete(a);
        }
      if (reps.size === 0) this.replicas.delete(id);
    }
  }
}
