// Copies of small records (tags, labels) that share one hidden class per key set. On Node 20's V8,
// an object spread followed by more keys (`{ ...base, k: v }`, or `{ ...base }` and then `o.k = v`)
// gives every copy a hidden class of its own: ~2–3 µs a copy instead of ~0.1, and ~0.6 KB of maps
// and descriptors kept beside every long-lived copy (docs/benchmarks.md, "Object spread and hidden
// classes"). Object.assign onto `{}` keeps to the shared shapes.

/** `{ ...parts[0], ...parts[1], ... }` (own enumerable keys, later parts win), with shared hidden classes. */
export function mergeRecords<T extends object>(...parts: (Partial<T> | undefined)[]): T {
  // Object.assign sets keys; a `__proto__` key would set the prototype instead: spread keeps it a key.
  for (const p of parts) if (p && Object.hasOwn(p, '__proto__')) return parts.reduce<T>((a, q) => ({ ...a, ...q }), {} as T);
  return Object.assign({}, ...parts) as T;
}
