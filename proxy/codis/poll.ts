// Polling a codis-proxy admin API with Node's fetch under one deadline.
//
// Open mode (no productAuth): one `GET /proxy` — config, model, full stats and the slot
// table in one consistent document (gzip-compressed on the wire).
// xauth mode (productAuth given, even ''): `GET /api/proxy/model` for the token, then
// `GET /api/proxy/stats/<xauth>/5` (cmd + runtime) and `GET /api/proxy/slots/<xauth>`.
// A wrong product name or auth is refused by the proxy with HTTP 800. The config, and so
// proxy_max_clients, is only readable in open mode; pass `maxClients` otherwise.
import type { ProxySample } from '../../proto/index.js';
import { downSample, errorText } from '../fields.js';
import {
  CodisApiError, parseCodisError, parseCodisModel, parseCodisOverview, parseCodisSlots, parseCodisStats, redactXAuth,
  type CodisProxyConfig, type CodisProxyModel, type CodisSlot, type CodisStats,
} from './parse.js';
import { CodisRates } from './rates.js';
import { codisSample } from './sample.js';
import { codisProxyXAuth } from './xauth.js';

export const CODIS_MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface CodisPollOptions {
  /** admin_addr of the proxy, host:port. */
  adminAddress: string;
  /** Expected product; a proxy serving another product is reported as an error. Defaults to the model's. */
  productName?: string;
  /** product_auth (a secret). When set, even to '', the xauth API is used. */
  productAuth?: string;
  /** Deadline for the whole poll (all requests). */
  timeoutMs: number;
  /** proxy_max_clients when the config cannot be read (xauth mode). */
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
}

/** A transport failure or deadline: message names the request, never the xauth. */
export class CodisRequestError extends Error {
  override name = 'CodisRequestError';
}

function baseUrl(address: string): string {
  const a = address.trim();
  // A bare IPv6 address with a port needs brackets in a URL.
  const hostPort = /^[^[\]]*:[^[\]]*:\d+$/.test(a) ? `[${a.slice(0, a.lastIndexOf(':'))}]${a.slice(a.lastIndexOf(':'))}` : a;
  let url: URL;
  try { url = new URL(`http://${hostPort}`); } catch { throw new CodisRequestError(`bad admin address ${JSON.stringify(address)} (want host:port)`); }
  if (!url.port || url.pathname !== '/' || url.username) throw new CodisRequestError(`bad admin address ${JSON.stringify(address)} (want host:port)`);
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

interface Deadline { signal: AbortSignal; timeoutMs: number }

/** GET `path` and return the body of a 200; any other status is a CodisApiError with codis's Cause. */
async function get(base: string, path: string, shown: string, deadline: Deadline, maxBytes: number): Promise<string> {
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

function checkProduct(model: CodisProxyModel, expected: string | undefined): void {
  if (expected !== undefined && expected !== '' && model.productName !== expected) {
    throw new CodisRequestError(`proxy serves product ${JSON.stringify(model.productName)}, expected ${JSON.stringify(expected)}`);
  }
}

/** Fetch and parse what a sample needs. Throws CodisApiError, CodisRequestError or ProxyParseError. */
export async function fetchCodisProxy(opts: CodisPollOptions): Promise<CodisFetchResult> {
  const base = baseUrl(opts.adminAddress);
  const maxBytes = opts.maxBodyBytes ?? CODIS_MAX_BODY_BYTES;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  const deadline: Deadline = { signal: controller.signal, timeoutMs: opts.timeoutMs };
  try {
    if (opts.productAuth === undefined) {
      const overview = parseCodisOverview(await get(base, '/proxy', '/proxy', deadline, maxBytes));
      if (!overview.model) throw new CodisRequestError('GET /proxy: the overview has no model');
      if (!overview.stats) throw new CodisRequestError('GET /proxy: the overview has no stats');
      checkProduct(overview.model, opts.productName);
      return { mode: 'open', model: overview.model, stats: overview.stats, slots: overview.slots, config: overview.config, version: overview.version || undefined };
    }
    const model = parseCodisModel(await get(base, '/api/proxy/model', '/api/proxy/model', deadline, maxBytes));
    checkProduct(model, opts.productName);
    const xauth = codisProxyXAuth(opts.productName || model.productName, opts.productAuth, model.token);
    const [statsText, slotsText] = await Promise.all([
      get(base, `/api/proxy/stats/${xauth}/5`, '/api/proxy/stats/<xauth>/5', deadline, maxBytes),
      get(base, `/api/proxy/slots/${xauth}`, '/api/proxy/slots/<xauth>', deadline, maxBytes),
    ]);
    return { mode: 'xauth', model, stats: parseCodisStats(statsText), slots: parseCodisSlots(slotsText), config: undefined, version: undefined };
  } finally {
    clearTimeout(timer);
    // A sibling request still running after a failure must not outlive the poll.
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
    return codisSample({ address: opts.adminAddress, stats: r.stats, model: r.model, slots: r.slots, config: r.config, version: r.version, maxClients: opts.maxClients });
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
