// Config plumbing shared by the agent and the collector: YAML loading, schema
// validation with one-line errors naming the key, durations, secrets from files/env.
import fs from 'node:fs';
import YAML from 'yaml';
import { Ajv, type ErrorObject, type JSONSchemaType, type Schema } from 'ajv';

/** Exit code for a bad configuration (sysexits EX_CONFIG). */
export const EX_CONFIG = 78;

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${key || '(root)'}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Several problems found at once (every schema error, every section that failed): one line each. */
export class ConfigErrors extends ConfigError {
  constructor(readonly all: ConfigError[]) {
    super(all[0]!.key, all[0]!.problem);
    this.name = 'ConfigErrors';
  }
}

/** The one-line messages of a config error, one per problem. */
export function configErrorLines(err: ConfigError): string[] {
  return err instanceof ConfigErrors ? err.all.map((e) => e.message) : [err.message];
}

/**
 * Collects the problems of independent parts of a config, so a file with a mistake in each of
 * three sections reports all three at once: run each part through `check`, then `done()` throws.
 */
export class ConfigProblems {
  private readonly found: ConfigError[] = [];

  check<T>(part: () => T): T | undefined {
    try {
      return part();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.found.push(...(err instanceof ConfigErrors ? err.all : [err]));
      return undefined;
    }
  }

  done(): void {
    if (this.found.length === 1) throw this.found[0]!;
    if (this.found.length > 1) throw new ConfigErrors(this.found);
  }
}

export function readYamlFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return YAML.parse(text) ?? {};
  } catch (err) {
    const e = err as { linePos?: { line: number; col: number }[]; message: string };
    const where = e.linePos?.[0] ? ` at line ${e.linePos[0].line}` : '';
    throw new ConfigError('(yaml)', `not valid YAML${where}: ${e.message.split('\n')[0]}`);
  }
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });

function keyOf(e: ErrorObject): string {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let key = '';
  for (const p of parts) key += /^\d+$/.test(p) ? `[${p}]` : key ? `.${p}` : p;
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return key ? `${key}.${extra}` : extra;
  }
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return key ? `${key}.${missing}` : missing;
  }
  return key;
}

function problemOf(e: ErrorObject): string {
  switch (e.keyword) {
    case 'additionalProperties':
      return 'unknown key';
    case 'required':
      return 'is required';
    case 'enum':
      return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ')}`;
    default:
      return e.message ?? 'is invalid';
  }
}

/** Validates (and fills defaults into) `data`; throws every bad key at once (one problem per key). */
export function validate<T>(schema: Schema | JSONSchemaType<T>, data: unknown): T {
  const check = ajv.compile(schema);
  if (!check(data)) {
    const byKey = new Map<string, ConfigError>();
    for (const e of check.errors!) {
      const key = keyOf(e);
      if (!byKey.has(key)) byKey.set(key, new ConfigError(key, problemOf(e)));
    }
    const all = [...byKey.values()];
    throw all.length === 1 ? all[0]! : new ConfigErrors(all);
  }
  return data as T;
}

/** "10s", "500ms", "2m", "1h", "1d" or a number of milliseconds → milliseconds. */
export function parseDuration(v: unknown, key: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim());
    if (m) {
      const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
      return Math.round(Number(m[1]) * mult);
    }
  }
  throw new ConfigError(key, `must be a duration like 500ms, 10s, 5m (got ${JSON.stringify(v)})`);
}

/** "512mb", "2gb", "64k" or a number of bytes → bytes (units are binary: 1k = 1024). */
export function parseBytes(v: unknown, key: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.round(v);
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|m|mb|g|gb)?$/i.exec(v.trim());
    if (m) {
      const unit = (m[2] ?? 'b').toLowerCase()[0] as 'b' | 'k' | 'm' | 'g';
      return Math.round(Number(m[1]) * { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit]);
    }
  }
  throw new ConfigError(key, `must be a size like 512mb, 2gb or a number of bytes (got ${JSON.stringify(v)})`);
}

/** host:port (IPv6 as [::1]:port) → parts, or a ConfigError for `key`. */
export function parseHostPort(v: unknown, key: string): { host: string; port: number } {
  if (typeof v === 'string') {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v.trim());
    if (m) {
      const port = Number(m[3]);
      if (port > 0 && port < 65536) return { host: (m[1] ?? m[2])!, port };
    }
  }
  throw new ConfigError(key, `must be host:port (got ${JSON.stringify(v)})`);
}

/**
 * A secret from exactly one of: a file (first line, trimmed), an environment variable,
 * or inline (discouraged; allowed for tests). Never logged.
 */
export function readSecret(src: { file?: string; env?: string; value?: string }, key: string): string | undefined {
  const given = [src.file, src.env, src.value].filter((x) => x !== undefined).length;
  if (given > 1) throw new ConfigError(key, 'give only one of the file, env or inline forms');
  if (src.file !== undefined) {
    try {
      const text = fs.readFileSync(src.file, 'utf8').split(/\r?\n/)[0]!.trim();
      if (!text) throw new ConfigError(key, `file ${src.file} is empty`);
      return text;
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(key, `cannot read ${src.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  if (src.env !== undefined) {
    const v = process.env[src.env];
    if (!v) throw new ConfigError(key, `environment variable ${src.env} is not set`);
    return v;
  }
  return src.value;
}

/** Runs `load`; on ConfigError prints one line and exits 78 before anything starts. */
export function loadOrExit<T>(program: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of configErrorLines(err)) process.stderr.write(`${program}: config error: ${line}\n`);
      process.exit(EX_CONFIG);
    }
    throw err;
  }
}
