// Growable typed-array columns and interned string columns: the flat per-host storage the
// scheduler scans. A host is a row index; nothing per host is an object on the hot path.

/** A Float64Array that doubles when a row beyond its length is written. */
export class NumberColumn {
  data: Float64Array;
  constructor(capacity: number) {
    this.data = new Float64Array(capacity);
  }
  grow(capacity: number): void {
    if (capacity <= this.data.length) return;
    const next = new Float64Array(capacity);
    next.set(this.data);
    this.data = next;
  }
}

/**
 * One label key (idc, env, …) as small integers per row: 0 = the host has no such label,
 * otherwise the id of its interned value. Matching a label is then one integer compare.
 */
export class InternedColumn {
  ids: Int32Array;
  private readonly byValue = new Map<string, number>();
  private readonly values: string[] = [''];
  constructor(capacity: number) {
    this.ids = new Int32Array(capacity);
  }

  grow(capacity: number): void {
    if (capacity <= this.ids.length) return;
    const next = new Int32Array(capacity);
    next.set(this.ids);
    this.ids = next;
  }

  /** The id of `value`, interning it. */
  intern(value: string): number {
    let id = this.byValue.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.byValue.set(value, id);
    }
    return id;
  }

  /** The id of `value`, or -1 when no host ever had it (so nothing can match). */
  idOf(value: string): number {
    return this.byValue.get(value) ?? -1;
  }
  valueOf(id: number): string {
    return this.values[id] ?? '';
  }
  /** Number of distinct ids including 0 (absent): sizes per-value counters. */
  get cardinality(): number {
    return this.values.length;
  }
}
