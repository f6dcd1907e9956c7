// Step buckets of the embedded history for a query that names its fields (the console's charts):
// per (series, bucket, field) running aggregates in flat typed arrays instead of an object per
// bucket and field, and a cluster sum added up in the same arrays — a 24 h cluster chart folds
// 28,800 minute rollups (docs/benchmarks.md, "24 h chart queries"). Same results as folding the
// rows with Rollup (history-rows.ts); a query that does not fit (a string value, too many cells)
// gets undefined and is answered that way instead.
import type { FieldValue, Point, Tags } from './points.js';
import { decodeValues, type Agg, type Column } from './history-rows.js';

export interface BucketRow {
  series: number;
  time: number;
  layout: number;
  v: Buffer;
  /** Raw points a rollup row stands for (a raw row: 1). */
  n?: number;
}

export interface BucketQuery {
  measurement: string;
  step: number;
  agg: Agg;
  fields: readonly string[];
  /** With it: the sum per bucket of the series that share these tags' values. */
  sumBy?: readonly string[];
  limit: number;
}

/** Above this many (series × bucket × field) cells the arrays would cost more than they save. */
const MAX_CELLS = 2_000_000;

/** One point per series (or per sumBy group) and bucket, oldest first; undefined: fold with Rollup instead. */
export function denseBuckets(
  q: BucketQuery,
  rows: readonly BucketRow[],
  columnsOf: (layout: number) => readonly Column[],
  tagsOf: ReadonlyMap<number, Tags>,
): Point[] | undefined {
  const { step, fields } = q;
  const nF = fields.length;
  if (rows.length === 0) return [];
  if (nF === 0) return undefined;
  const seriesIdx = new Map<number, number>();
  const seriesIds: number[] = [];
  let b0 = Infinity;
  let b1 = -Infinity;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const b = Math.floor(r.time / step);
    if (b < b0) b0 = b;
    if (b > b1) b1 = b;
    if (!seriesIdx.has(r.series)) {
      seriesIdx.set(r.series, seriesIds.length);
      seriesIds.push(r.series);
    }
  }
  const nB = b1 - b0 + 1;
  const cells = seriesIds.length * nB * nF;
  if (cells > MAX_CELLS) return undefined;
  const sum = new Float64Array(cells);
  const cnt = new Float64Array(cells);
  const min = new Float64Array(cells).fill(Infinity);
  const max = new Float64Array(cells).fill(-Infinity);
  const last = new Float64Array(cells);
  const lastT = new Float64Array(cells).fill(-Infinity);
  const slotOf = new Map(fields.map((f, i) => [f, i]));
  // Per layout: pairs of (column index, field slot) for the asked fields it holds.
  const picks = new Map<number, Int32Array>();
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    let pick = picks.get(r.layout);
    if (!pick) {
      const p: number[] = [];
      columnsOf(r.layout).forEach(([f], c) => {
        const slot = slotOf.get(f);
        if (slot !== undefined) p.push(c, slot);
      });
      picks.set(r.layout, (pick = Int32Array.from(p)));
    }
    if (pick.length === 0) continue;
    const values = decodeValues(r.v);
    const n = r.n ?? 1;
    const base = (seriesIdx.get(r.series)! * nB + Math.floor(r.time / step) - b0) * nF;
    for (let k = 0; k < pick.length; k += 2) {
      const v = values[pick[k]!];
      if (v === null || v === undefined) continue;
      const at = base + pick[k + 1]!;
      let lo: number, hi: number, lastV: number;
      if (typeof v === 'number') {
        sum[at] += v * n;
        lo = hi = lastV = v;
      } else if (Array.isArray(v)) {
        sum[at] += v[0] * n;
        lo = v[1];
        hi = v[2];
        lastV = v[3];
      } else return undefined; // a string or boolean: Rollup keeps it as `last`
      cnt[at] += n;
      if (lo < min[at]!) min[at] = lo;
      if (hi > max[at]!) max[at] = hi;
      if (r.time >= lastT[at]!) {
        last[at] = lastV;
        lastT[at] = r.time;
      }
    }
  }
  const valueAt = (at: number): number =>
    q.agg === 'mean'
      ? min[at] === max[at]
        ? min[at]!
        : sum[at]! / cnt[at]!
      : q.agg === 'min'
        ? min[at]!
        : q.agg === 'max'
          ? max[at]!
          : last[at]!;

  const out: Point[] = [];
  if (!q.sumBy) {
    for (let b = 0; b < nB && out.length < q.limit; b++) {
      for (let s = 0; s < seriesIds.length && out.length < q.limit; s++) {
        const base = (s * nB + b) * nF;
        let f: Record<string, FieldValue> | undefined;
        for (let k = 0; k < nF; k++) if (cnt[base + k]! > 0) (f ??= {})[fields[k]!] = valueAt(base + k);
        if (f) out.push({ measurement: q.measurement, tags: tagsOf.get(seriesIds[s]!)!, fields: f, time: (b0 + b) * step });
      }
    }
    return out;
  }
  // The sum per group: each series' aggregate of the bucket, added up (as sumSeries does).
  const groupIdx = new Map<string, number>();
  const groupTags: Tags[] = [];
  const groupOf = seriesIds.map((id) => {
    const tags: Tags = {};
    const all = tagsOf.get(id)!;
    for (const t of q.sumBy!) if (all[t] !== undefined) tags[t] = all[t];
    const key = JSON.stringify(tags);
    let g = groupIdx.get(key);
    if (g === undefined) {
      groupIdx.set(key, (g = groupTags.length));
      groupTags.push(tags);
    }
    return g;
  });
  const nG = groupTags.length;
  const gSum = new Float64Array(nG * nB * nF);
  const gHas = new Uint8Array(nG * nB * nF);
  for (let s = 0; s < seriesIds.length; s++) {
    for (let b = 0; b < nB; b++) {
      const base = (s * nB + b) * nF;
      const gBase = (groupOf[s]! * nB + b) * nF;
      for (let k = 0; k < nF; k++) {
        if (cnt[base + k]! > 0) {
          gSum[gBase + k] += valueAt(base + k);
          gHas[gBase + k] = 1;
        }
      }
    }
  }
  for (let b = 0; b < nB && out.length < q.limit; b++) {
    for (let g = 0; g < nG && out.length < q.limit; g++) {
      const base = (g * nB + b) * nF;
      let f: Record<string, FieldValue> | undefined;
      for (let k = 0; k < nF; k++) if (gHas[base + k]) (f ??= {})[fields[k]!] = gSum[base + k]!;
      if (f) out.push({ measurement: q.measurement, tags: groupTags[g]!, fields: f, time: (b0 + b) * step });
    }
  }
  return out;
}
