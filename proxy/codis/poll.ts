// Polling a codis-proxy admin API with Node's fetch under one deadline.
//
// Every poll reads `GET /proxy` — config, model, full stats and the slot table in one
// consistent document (gzip-compressed on the wire); it needs no auth, so version, max
// clients and the sessions ratio are there in product-auth mode too.
// xauth mode (productAuth given, even ''): then `GET /api/proxy/xping/<xauth>` checks our
// product name + auth against the proxy. A proxy that answers but refuses them (HTTP 800), or
// serves another product, is `misconfigured` — a configuration problem, not a proxy down.
import type { ProxySample } from '../../proto/index.js';
import { downSample, errorText, flag, str } from '../fields.js';
import {
  CodisApiError,
  parseCodisError,
  parseCodisOverview,
  redactXAuth,
  type CodisProxyConfig,
  type CodisProxyModel,
  type CodisSlot,
  type CodisStats,
} from './parse.js';
import { CodisRates } from './rates.js';
import { codisSample } from './sample.js';
import { codisProxyXAuth } from './xauth.js';

export const CODIS_MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface CodisPollOptions {
  /** admin_addr of the proxy, host:port. */
  adminAddress: string;
  /** Expected product; a proxy serving another product is `misconfigured`. Defaults to the model's. */
  productName?: string;
  /** product_auth (a secret). When set, even to '', it is checked with the proxy's xping. */
  productAuth?: string;
  /** Deadline for the whole poll (all requests). */
  timeoutMs: number;
  /** proxy_max_clients when the config cannot be read (the config wins). */
  maxClients?: number;
  /** Largest response body accepted (default 8 MiB). */
  maxBodyBytes?: number;
}

export interface CodisFetchResult {
  mode: 'open' | 'xauth';
  model: CodisProxyModel;
  stats: CodisStats;
  slots: CodisSlot[] | undefined;
  config: CodisProxyConfig | undefined;
  version: string | undefined;
  /** Why the proxy refuses our product name / auth, '' when it does not. */
  misconfigured: string;
}

/** A transport failure or deadline: message names the request, never the xauth. */
export class CodisRequestError extends Error {
  override name = 'CodisRequestError';
}

export function baseUrl(address: string): string {
  const a = address.trim();
  // A bare IPv6 address with a port needs brackets in a URL.
  const hostPort = /^[^[\]]*:[^[\]]*:\d+$/.test(a) ? `[${a.slice(0, a.lastIndexOf(':'))}]${a.slice(a.lastIndexOf(':'))}` : a;
  let url: URL;
  try {
    url = new URL(`http://${hostPort}`);
  } catch {
    throw new CodisRequestError(`bad admin address ${JSON.stringify(address)} (want host:port)`);
  }
  if (!url.port || url.pathname !== '/' || url.username)
    throw new CodisRequestError(`bad admin address ${JSON.stringify(address)} (want host:port)`);
  return `http://${url.host}`;
}

async function readCapped(res: Response, maxBytes: number, shown: string): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new CodisRequestError(`GET ${shown}: response larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface Deadline {
  signal: AbortSignal;
  timeoutMs: number;
}

/** GET `path` and return the body of a 200; any other status is a CodisApiError with codis's Cause. */
export async function get(base: string, path: string, shown: string, deadline: Deadline, maxBytes: number): Promise<string> {
  let res: Response;
  try {
    res = await fetch(base + path, { signal: deadline.signal, headers: { accept: 'application/json' }, redirect: 'manual' });
  } catch (err) {
    throw transportError(err, shown, deadline);
  }
  let body: string;
  try {
    body = await readCapped(res, maxBytes, shown);
  } catch (err) {
    if (err instanceof CodisRequestError) throw err;
    throw transportError(err, shown, deadline);
  }
  // codis answers errors with HTTP 800 (sometimes 1500); fetch does not throw on those.
  if (res.status !== 200) throw new CodisApiError(res.status, shown, parseCodisError(body).cause);
  return body;
}

function transportError(err: unknown, shown: string, deadline: Deadline): CodisRequestError {
  if (deadline.signal.aborted) return new CodisRequestError(`GET ${shown}: timed out after ${deadline.timeoutMs} ms`);
  // undici: TypeError('fetch failed') with the socket error as `cause`.
  const cause = (err as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? cause.message : errorText(err);
  return new CodisRequestError(`GET ${shown}: ${redactXAuth(detail)}`);
}

function productMismatch(model: CodisProxyModel, expected: string | undefined): string {
  return expected !== undefined && expected !== '' && model.productName !== expected
    ? `proxy serves product ${JSON.stringify(model.productName)}, expected ${JSON.stringify(expected)}`
    : '';
}

/** Fetch and parse what a sample needs. Throws CodisApiError, CodisRequestError or ProxyParseError. */
export async function fetchCodisProxy(opts: CodisPollOptions): Promise<CodisFetchResult> {
  const base = baseUrl(opts.adminAddress);
  const maxBytes = opts.maxBodyBytes ?? CODIS_MAX_BODY_BYTES;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  const deadline: Deadline = { signal: controller.signal, timeoutMs: opts.timeoutMs };
  try {
    const overview = parseCodisOverview(await get(base, '/proxy', '/proxy', deadline, maxBytes));
    if (!overview.model) throw new CodisRequestError('GET /proxy: the overview has no model');
    if (!overview.stats) throw new CodisRequestError('GET /proxy: the overview has no stats');
    const model = overview.model;
    let misconfigured = productMismatch(model, opts.productName);
    if (opts.productAuth !== undefined && !misconfigured) {
      const xauth = codisProxyXAuth(opts.productName || model.productName, opts.productAuth, model.token);
      try {
        await get(base, `/api/proxy/xping/${xauth}`, '/api/proxy/xping/<xauth>', deadline, maxBytes);
      } catch (err) {
        if (!(err instanceof CodisApiError)) throw err;
        misconfigured = `product auth rejected: ${err.reason}`;
      }
    }
    return {
      mode: opts.productAuth === undefined ? 'open' : 'xauth',
      model,
      stats: overview.stats,
      slots: overview.slots,
      config: overview.config,
      version: overview.version || undefined,
      misconfigured,
    };
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/**
 * One sample of a codis-proxy. Never throws: an unreachable proxy, an API error (HTTP 800
 * with its Cause), a timeout or a malformed document gives `up: false` and `error`.
 */
export async function pollCodisProxy(opts: CodisPollOptions): Promise<ProxySample> {
  try {
    const r = await fetchCodisProxy(opts);
    const s = codisSample({
      address: opts.adminAddress,
      stats: r.stats,
      model: r.model,
      slots: r.slots,
      config: r.config,
      version: r.version,
      maxClients: opts.maxClients,
    });
    s.fields.misconfigured = flag(r.misconfigured !== '');
    if (r.misconfigured) s.fields.misconfigured_reason = str(redactXAuth(r.misconfigured));
    if (opts.productName && r.misconfigured) s.name = opts.productName;
    return s;
  } catch (err) {
    return downSample('codis', opts.adminAddress, opts.productName ?? '', redactXAuth(errorText(err)));
  }
}

/** pollCodisProxy plus rates against the previous sample of the same proxy. */
export class CodisProxyPoller {
  private readonly rates = new CodisRates();

  constructor(readonly options: CodisPollOptions) {}

  async poll(): Promise<ProxySample> {
    const sample = await pollCodisProxy(this.options);
    return this.rates.annotate(sample, Date.now());
  }
}
