// HTTP delivery shared by the notifiers: JSON POST with a timeout, outcome classified the
// Alertmanager way (2xx ok; 5xx, 429 and network errors/timeouts retryable; other 4xx final).
import { ConfigError, readSecret } from '../../../common/index.js';
import { DeliveryError } from './types.js';

export interface PostResult {
  status: number;
  text: string;
  json: unknown;
}

export async function postJson(
  url: string,
  body: string,
  opts: { timeoutMs: number; headers?: Record<string, string> },
): Promise<PostResult> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...opts.headers },
      signal: AbortSignal.timeout(opts.timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `timed out after ${opts.timeoutMs} ms` : (e.cause?.code ?? e.message);
    throw new DeliveryError(`${redactUrl(url)}: ${why}`, true);
  }
  const text = await res.text().catch(() => '');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, text, json };
  const retryable = res.status === 429 || res.status >= 500;
  throw new DeliveryError(`${redactUrl(url)}: HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`, retryable);
}

/** Robots answer HTTP 200 with an error code in the body: that is a failure, retryable for throttling codes. */
export function checkBodyCode(r: PostResult, field: 'errcode' | 'code', throttling: number[], url: string): void {
  const o = r.json as Record<string, unknown> | undefined;
  const code = o?.[field];
  if (code === 0) return;
  const msg = String(o?.errmsg ?? o?.msg ?? r.text.slice(0, 200));
  if (typeof code !== 'number') throw new DeliveryError(`${redactUrl(url)}: answer without ${field}: ${msg}`, false);
  throw new DeliveryError(`${redactUrl(url)}: ${field} ${code}: ${msg}`, throttling.includes(code));
}

/** A URL without its query string and credentials (robot URLs carry their token there). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.replace(/(\/hook\/|\/services\/)[^/]+.*$/, '$1…')}`;
  } catch {
    return '(bad url)';
  }
}

/** The `url` / `urlFile` / `urlEnv` trio (robot URLs are secrets: they hold the token). */
export function readUrl(c: Record<string, unknown>, key = 'url'): string {
  const v = readSecret(
    { value: c[key] as string | undefined, file: c[`${key}File`] as string | undefined, env: c[`${key}Env`] as string | undefined },
    key,
  );
  if (!v) throw new ConfigError(key, `is required (${key}, ${key}File or ${key}Env)`);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(key, 'is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(key, 'must be http or https');
  return v;
}

export function readOptionalSecret(c: Record<string, unknown>, key: string): string | undefined {
  return readSecret(
    { value: c[key] as string | undefined, file: c[`${key}File`] as string | undefined, env: c[`${key}Env`] as string | undefined },
    key,
  );
}

/** JSON-schema properties for `<key>`, `<key>File`, `<key>Env`. */
export function secretProps(key: string): Record<string, unknown> {
  return {
    [key]: { type: 'string', minLength: 1 },
    [`${key}File`]: { type: 'string', minLength: 1 },
    [`${key}Env`]: { type: 'string', minLength: 1 },
  };
}
