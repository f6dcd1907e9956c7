// The replication offset difference between a group's master and each replica (the curve
// operators watch during a resync or a failover): master and replica are sampled by different
// agents, so the collector pairs the latest samples sharing a master_replid and writes one
// `redis_repl_offset` point per pair when either side reports.
import { infoReader, MEASUREMENTS, type RedisSample } from '../../proto/index.js';
import type { Point } from '../points.js';

/** Samples older than this are not paired (the other side stopped reporting). */
export const OFFSET_PAIR_MAX_AGE_MS = 60_000;

interface Side {
  address: string;
  replid: string;
  offset: number;
  at: number;
  cluster: string;
  group: string;
}

const DEF = MEASUREMENTS.redis_repl_offset!;

export class ReplOffsets {
  private readonly masters = new Map<string, Side>();
  /** replid → replica address → its latest offset. */
  private readonly replicas = new Map<string, Map<string, Side>>();

  onSamples(samples: readonly RedisSample[], now = Date.now()): Point[] {
    const pairs = new Map<string, [Side, Side]>();
    const touched: Side[] = [];
    for (const s of samples) {
      if (!s.up) continue;
      const f = infoReader(s);
      const replid = f.str('master_replid');
      const offset = s.role === 'slave' ? (f.num('slave_repl_offset') ?? f.num('master_repl_offset')) : f.num('master_repl_offset');
      if (!replid || offset === null) continue;
      const side: Side = { address: s.address, replid, offset, at: s.sampledAtMs || now, cluster: s.cluster, group: s.group };
      if (s.role === 'master') this.masters.set(replid, side);
      else if (s.role === 'slave') {
        for (const [id, m] of this.replicas) if (id !== replid && m.delete(s.address) && m.size === 0) this.replicas.delete(id);
        let m = this.replicas.get(replid);
        if (!m) this.replicas.set(replid, (m = new Map()));
        m.set(s.address, side);
      } else continue;
      touched.push(side);
    }
    for (const side of touched) {
      const master = this.masters.get(side.replid);
      if (!master || now - master.at > OFFSET_PAIR_MAX_AGE_MS) continue;
      for (const r of this.replicas.get(side.replid)?.values() ?? []) {
        if (now - r.at > OFFSET_PAIR_MAX_AGE_MS) continue;
        pairs.set(`${master.address}>${r.address}`, [master, r]);
      }
    }
    const out: Point[] = [];
    for (const [m, r] of pairs.values()) {
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
    this.prune(now);
    return out;
  }

  private prune(now: number): void {
    for (const [id, m] of this.masters) if (now - m.at > OFFSET_PAIR_MAX_AGE_MS) this.masters.delete(id);
    for (const [id, reps] of this.replicas) {
      for (const [a, r] of reps) if (now - r.at > OFFSET_PAIR_MAX_AGE_MS) reps.delete(a);
      if (reps.size === 0) this.replicas.delete(id);
    }
  }
}
