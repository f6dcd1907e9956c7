// Typed reading of untrusted JSON documents: every problem names the document and the
// path of the offending key, e.g. `codis stats: ops.total: expected a number, got "x"`.

export class ProxyParseError extends Error {
  override name = 'ProxyParseError';
  constructor(
    readonly document: string,
    readonly path: string,
    readonly problem: string,
  ) {
    super(path ? `${document}: ${path}: ${problem}` : `${document}: ${problem}`);
  }
}

/** JSON.parse with an error that names the document and shows where the text went wrong. */
export function parseJson(text: string, document: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const head = text.length > 60 ? `${text.slice(0, 60)}…` : text;
    const why = err instanceof Error ? err.message : String(err);
    throw new ProxyParseError(document, '', `malformed JSON (${why}); ${text.length} bytes starting ${JSON.stringify(head)}`);
  }
}

const describe = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
};

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A view of one JSON object inside a document; getters throw ProxyParseError with the full key path. */
export class JsonReader {
  private constructor(
    readonly document: string,
    readonly path: string,
    readonly value: JsonObject,
  ) {}

  static root(document: string, v: unknown): JsonReader {
    if (!isObject(v)) throw new ProxyParseError(document, '', `expected a JSON object, got ${describe(v)}`);
    return new JsonReader(document, '', v);
  }

  /** A reader over an array element or other nested value at `path`. */
  static at(document: string, path: string, v: unknown): JsonReader {
    if (!isObject(v)) throw new ProxyParseError(document, path, `expected an object, got ${describe(v)}`);
    return new JsonReader(document, path, v);
  }

  keyPath(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  fail(key: string, problem: string): never {
    throw new ProxyParseError(this.document, this.keyPath(key), problem);
  }

  has(key: string): boolean {
    return this.value[key] !== undefined && this.value[key] !== null;
  }

  obj(key: string): JsonReader {
    const v = this.value[key];
    if (!isObject(v)) this.fail(key, `expected an object, got ${describe(v)}`);
    return new JsonReader(this.document, this.keyPath(key), v);
  }

  optObj(key: string): JsonReader | undefined {
    return this.has(key) ? this.obj(key) : undefined;
  }

  num(key: string): number {
    const v = this.value[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `expected a number, got ${describe(v)}`);
    return v;
  }

  optNum(key: string, dflt: number): number {
    return this.has(key) ? this.num(key) : dflt;
  }

  bool(key: string): boolean {
    const v = this.value[key];
    if (typeof v !== 'boolean') this.fail(key, `expected true or false, got ${describe(v)}`);
    return v;
  }

  optBool(key: string, dflt = false): boolean {
    return this.has(key) ? this.bool(key) : dflt;
  }

  str(key: string): string {
    const v = this.value[key];
    if (typeof v !== 'string') this.fail(key, `expected a string, got ${describe(v)}`);
    return v;
  }

  optStr(key: string, dflt = ''): string {
    return this.has(key) ? this.str(key) : dflt;
  }

  arr(key: string): unknown[] {
    const v = this.value[key];
    if (!Array.isArray(v)) this.fail(key, `expected an array, got ${describe(v)}`);
    return v;
  }

  optArr(key: string): unknown[] {
    return this.has(key) ? this.arr(key) : [];
  }

  strArr(key: string): string[] {
    return this.optArr(key).map((v, i) => {
      if (typeof v !== 'string') this.fail(`${key}[${i}]`, `expected a string, got ${describe(v)}`);
      return v;
    });
  }

  /** An object whose values are all strings (Go map[string]string). */
  strMap(key: string): Record<string, string> {
    const o = this.optObj(key);
    const out: Record<string, string> = {};
    if (!o) return out;
    for (const [k, v] of Object.entries(o.value)) {
      if (typeof v === 'string') out[k] = v;
      else o.fail(k, `expected a string, got ${describe(v)}`);
    }
    return out;
  }
}
