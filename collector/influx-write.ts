// POST /write of ready-made line protocol to InfluxDB 1.x over a keep-alive agent.
// The outcome is a status and InfluxDB's own message; nothing here retries. Bodies go gzip'd
// (influx.gzip, default on): InfluxDB 1.x and VictoriaMetrics both take Content-Encoding: gzip on
// /write; level 1 keeps most of the saving (line protocol repeats its tags) at a fraction of the CPU
// (docs/benchmarks.md, "ingest"). Compression runs on libuv's thread pool, off the event loop.
// https://docs.influxdata.com/influxdb/v1/tools/api/#write-http-endpoint
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { InfluxConfig } from './config.js';

export interface WriteOutcome {
  /** HTTP status, or 0 when no answer came (connection refused, timeout). */
  status: number;
  /** InfluxDB's message (its JSON `error`), or the network error. */
  error?: string;
}

/**
 * `body` as one gzip member, compressed in one thread-pool job: a stream fed report by report costs
 * the event loop a write and a callback per report, and 16 KB output chunks add a round trip each.
 * The bytes are the same as the stream's (deflate does not see how its input was split).
 */
function gzipAsync(body: Buffer): Promise<Buffer> {
  // Room for the whole output at once (line protocol shrinks well past 4:1 at level 1).
  const chunkSize = Math.max(zlib.constants.Z_DEFAULT_CHUNK, Math.min(1 << 20, body.length >> 2));
  return new Promise((resolve, reject) => {
    zlib.gzip(body, { level: 1, chunkSize }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

/** A batch joined for gzip is kept up to this size and reused; a larger one is joined afresh. */
const JOIN_KEEP_BYTES = 4 << 20;

export class InfluxWriter {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly auth: string | undefined;

  private readonly gzip: boolean;

  constructor(
    cfg: InfluxConfig,
    private readonly timeoutMs = 10_000,
  ) {
    this.gzip = cfg.gzip;
    const base = cfg.url.replace(/\/$/, '');
    this.url = new URL(`${base}/write`);
    this.url.searchParams.set('db', cfg.database);
    this.url.searchParams.set('precision', 'ms');
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 4 })
        : new http.Agent({ keepAlive: true, maxSockets: 4 });
    if (cfg.username !== undefined) this.auth = `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}`;
  }

  /** Bytes handed to write() and bytes sent (smaller when gzip'd), since start. */
  readonly bytes = { raw: 0, sent: 0 };

  /**
   * The batch's buffers joined for gzip, in the buffer kept from the last batch when it is free and
   * fits: Buffers are memory outside V8's heap, and each new one counts toward a full collection.
   */
  private join: Buffer | undefined;
  private joinBusy = false;

  async write(body: Buffer[]): Promise<WriteOutcome> {
    let length = 0;
    for (const b of body) length += b.length;
    this.bytes.raw += length;
    if (!this.gzip) return this.post(body, false);
    const reuse = body.length > 1 && !this.joinBusy && length <= JOIN_KEEP_BYTES;
    let joined: Buffer;
    if (body.length === 1) joined = body[0]!;
    else if (!reuse) joined = Buffer.concat(body, length);
    else {
      if (!this.join || this.join.length < length)
        this.join = Buffer.allocUnsafe(Math.min(JOIN_KEEP_BYTES, Math.max(length, 2 * (this.join?.length ?? 0))));
      let at = 0;
      for (const b of body) at += b.copy(this.join, at);
      joined = this.join.subarray(0, length);
      this.joinBusy = true;
    }
    let packed: Buffer;
    try {
      packed = await gzipAsync(joined);
    } catch (err) {
      return { status: 0, error: `gzip: ${(err as Error).message}` };
    } finally {
      if (reuse) this.joinBusy = false;
    }
    return this.post([packed], true);
  }

  private post(body: Buffer[], gzipped: boolean): Promise<WriteOutcome> {
    const length = body.reduce((a, b) => a + b.length, 0);
    this.bytes.sent += length;
    const mod = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-length': length };
      if (gzipped) headers['content-encoding'] = 'gzip';
      if (this.auth) headers.authorization = this.auth;
      const req = mod.request(this.url, { method: 'POST', agent: this.agent, headers, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve({ status });
          const text = Buffer.concat(chunks).toString('utf8');
          let error = text.trim() || `HTTP ${status}`;
          try {
            error = (JSON.parse(text) as { error?: string }).error ?? error;
          } catch {
            /* not JSON */
          }
          resolve({ status, error });
        });
        res.on('error', (err) => resolve({ status: 0, error: err.message }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs}ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, error: err.code ?? err.message }));
      for (const b of body) req.write(b);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
