// Per-request working arrays, reused: a placement at 10,000 hosts would otherwise allocate
// ~1 MB of typed arrays per request and make the collector's GC pauses show in the p99.
// Safe because a placement runs synchronously from start to end (no two at once).

type Kind = 'f64' | 'i32' | 'u8';
type ArrayOf<K extends Kind> = K extends 'f64' ? Float64Array : K extends 'i32' ? Int32Array : Uint8Array;

const make = { f64: (n: number) => new Float64Array(n), i32: (n: number) => new Int32Array(n), u8: (n: number) => new Uint8Array(n) };

class Scratch {
  private readonly buffers = new Map<string, Float64Array | Int32Array | Uint8Array>();

  /** A view of `n` elements of the buffer named `name`, every element set to `fill`. */
  get<K extends Kind>(kind: K, name: string, n: number, fill = 0): ArrayOf<K> {
    const key = `${kind}:${name}`;
    let buf = this.buffers.get(key);
    if (!buf || buf.length < n) {
      buf = make[kind](Math.max(1024, 2 ** Math.ceil(Math.log2(Math.max(1, n)))));
      this.buffers.set(key, buf);
    }
    const view = buf.subarray(0, n) as ArrayOf<K>;
    view.fill(fill);
    return view;
  }
}

export const scratch = new Scratch();
