// The agent's one long-lived bidi stream to the collector: Hello, wait for Welcome,
// then every buffered report in seq order and each new one as it comes. Acks
// (cumulative) free the buffer; on any failure the stream is dropped and re-opened
// trying the configured addresses in this host's rendezvous order (the next one at once
// after a failure, backoff only once every address failed), and whatever is still unacked
// is sent again in order. On a fallback address, the preferred one is probed every
// `failbackMs` and taken back when it answers. Sampling never waits for any of this.
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import {
  Backoff,
  OnceLog,
  mergeRecords,
  TlsMaterial,
  classifyTlsError,
  type Logger,
  type TlsFailure,
  type TlsFiles,
} from '../../common/index.js';
import {
  REPORT_FORM_V1,
  REPORT_FORM_V2,
  SCHEMA_FINGERPRINT,
  encodeAgentMessage,
  fleetService,
  decodeRedisSamples,
  encodeRedisSamples,
  plainSample,
  type CollectorMessage,
  type Hello,
  type Report,
} from '../../proto/index.js';
import type { HostPort } from '../config.js';
import { ReportBuffer } from './buffer.js';
import { rendezvousOrder } from './rendezvous.js';

/** How long a fallback collector keeps the host before the preferred one is tried again (collector.failback). */
export const DEFAULT_FAILBACK_MS = 5 * 60_000;

export interface LinkOptions {
  addresses: HostPort[];
  /** Sent only as `authorization: Bearer <token>` metadata; never logged. */
  token: string;
  maxMessageBytes: number;
  buffer: { maxReports: number; maxBytes: number };
  hello: Hello;
  logger: Logger;
  /** How long to wait for Welcome after Hello before trying the next address. */
  welcomeTimeoutMs?: number;
  backoff?: { baseMs: number; maxMs: number };
  /** On a fallback address, probe the preferred one this often and move back when it answers. */
  failbackMs?: number;
  /** TLS to the collector (collector.tls); plaintext when absent. */
  tls?: { files: TlsFiles; serverName?: string };
  /** Offer report form 2 (proto/form2.ts) in hello; default true. Form 1 is always understood. */
  offerForm2?: boolean;
}

export interface LinkStats {
  bufferedReports: number;
  bufferedBytes: number;
  /** Dropped from the full buffer (oldest first) plus reports too large to send. */
  droppedReports: number;
  oversizeDropped: number;
  reconnects: number;
  connected: boolean;
  lastSeq: number;
  /** The collector the stream is (or was last) open to. */
  address: string;
  /** Why the last attempt to reach the collector failed ('' while connected). */
  lastError: string;
}

type Codec = {
  requestSerialize(v: unknown): Buffer;
  requestDeserialize(b: Buffer): unknown;
  responseDeserialize(b: Buffer): unknown;
  path: string;
};

type DecodedCollectorMessage = CollectorMessage & { body?: string };

const TLS_TEXT: Record<TlsFailure, string> = {
  expired: "the collector's certificate has expired",
  'not-yet-valid': "the collector's certificate is not valid yet",
  'unknown-ca': "unknown CA: the collector's certificate is not signed by a CA in collector.tls.caFile",
  'name-mismatch': "name mismatch: the collector's certificate does not cover the name the agent connects to (collector.tls.serverName)",
  'not-tls': 'the collector does not speak TLS on this port (plaintext collector? set grpc.tls on the collector, or remove collector.tls)',
  'peer-refused-cert': "the collector refused this agent's client certificate (collector.tls.certFile)",
  'no-client-cert': 'the collector requires a client certificate (collector.tls.certFile/keyFile)',
};

/** A specific TLS reason for a failed stream ("TLS: ..."), or undefined when TLS was not the problem. */
export function tlsProblem(details: string, usingTls: boolean): { kind: string; text: string } | undefined {
  // The collector's own refusals (plaintext on its TLS port, client certificate) start with "TLS: ".
  if (details.startsWith('TLS: ')) return { kind: 'collector-refused', text: details };
  if (!usingTls) return undefined;
  const kind = classifyTlsError(details);
  if (!kind) return undefined;
  const extra = kind === 'name-mismatch' ? ` — ${/Hostname\/IP does not match[^(]*/.exec(details)?.[0]?.trim() ?? details}` : '';
  return { kind, text: `TLS: ${TLS_TEXT[kind]}${extra}` };
}

function target(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export class CollectorLink {
  private readonly codec: Codec;
  private readonly buffer: ReportBuffer;
  private readonly backoff: Backoff;
  private readonly once = new OnceLog();
  private readonly log: Logger;
  private nextSeq = 1;
  /** The collector's limit from its Welcome (0 until one said so). */
  private collectorMaxBytes = 0;
  /** The report form the collector's Welcome asked for (1 until one accepted form 2). */
  private form = REPORT_FORM_V1;
  private readonly hello: Hello;
  private oversizeDropped = 0;
  private reconnects = 0;
  private state: 'idle' | 'connecting' | 'live' | 'waiting' | 'stopped' = 'idle';
  private addrIndex = 0;
  /** Addresses tried without reaching live since the last success (backoff once all failed). */
  private roundFailures = 0;
  private readonly order: HostPort[];
  private failbackTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private client: grpc.Client | undefined;
  private call: grpc.ClientDuplexStream<Buffer, DecodedCollectorMessage> | undefined;
  private sentUpTo = 0;
  private waitingDrain = false;
  private welcomeTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failReason: string | undefined;
  private flushWaiters: (() => void)[] = [];
  private lastError = '';
  private readonly tls: TlsMaterial | undefined;
  private creds: { version: number; creds: grpc.ChannelCredentials } | undefined;

  constructor(private readonly opts: LinkOptions) {
    this.codec = (fleetService() as unknown as { service: { Connect: Codec } }).service.Connect;
    this.buffer = new ReportBuffer(opts.buffer.maxReports, opts.buffer.maxBytes);
    this.backoff = new Backoff(opts.backoff?.baseMs ?? 250, opts.backoff?.maxMs ?? 10_000);
    this.log = opts.logger.child({ component: 'transport' });
    this.order = rendezvousOrder(opts.hello.hostId, opts.addresses);
    this.hello = opts.offerForm2 === false ? opts.hello : { ...opts.hello, reportForms: [REPORT_FORM_V2], schema: SCHEMA_FINGERPRINT };
    if (opts.tls) {
      const files = opts.tls.files;
      this.tls = new TlsMaterial(files, {
        onReload: (pem) =>
          this.log.info(
            { names: pem.names, notAfter: pem.notAfter?.toISOString() },
            'collector.tls files re-read; the next connection uses them',
          ),
        onError: (err) => this.log.error({ error: err.message }, 'collector.tls files changed but do not load; keeping the previous ones'),
      });
    }
  }

  /** Plaintext, or TLS credentials built from the current files (rebuilt when they changed). */
  private credentials(): grpc.ChannelCredentials {
    if (!this.tls) return grpc.credentials.createInsecure();
    const pem = this.tls.current();
    if (this.creds?.version !== pem.version) {
      const buf = (s: string | undefined) => (s === undefined ? null : Buffer.from(s));
      this.creds = { version: pem.version, creds: grpc.credentials.createSsl(buf(pem.ca), buf(pem.key), buf(pem.cert)) };
    }
    return this.creds.creds;
  }

  /** The addresses in this host's order of preference. */
  get preference(): string[] {
    return this.order.map((a) => a.address);
  }

  get sessionId(): string {
    return this.opts.hello.sessionId;
  }

  /** The fast encoder; proto-loader's serializer (which coerces types) if it refuses the object. */
  private encode(msg: unknown): Buffer {
    try {
      return encodeAgentMessage(msg);
    } catch (err) {
      if (this.once.enter('encode', 'fallback'))
        this.log.warn({ error: (err as Error).message }, 'fast report encoding failed; using the proto-loader serializer');
      return this.codec.requestSerialize(msg);
    }
  }

  /** The samples in form 2, or undefined (form 1 then) when they do not encode; said once. */
  private encodeForm2(samples: Report['redis']): Buffer | undefined {
    try {
      return encodeRedisSamples(samples);
    } catch (err) {
      if (this.once.enter('form2', 'failing'))
        this.log.warn({ error: (err as Error).message }, 'report form 2 encoding failed; sending form 1');
      return undefined;
    }
  }

  stats(): LinkStats {
    return {
      bufferedReports: this.buffer.size,
      bufferedBytes: this.buffer.bytes,
      droppedReports: this.buffer.dropped + this.oversizeDropped,
      oversizeDropped: this.oversizeDropped,
      reconnects: this.reconnects,
      connected: this.state === 'live',
      lastSeq: this.nextSeq - 1,
      address: this.order[this.addrIndex]!.address,
      lastError: this.state === 'live' ? '' : this.lastError,
    };
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.connect();
  }

  /**
   * Encodes the report with the next seq, buffers it and sends it when the stream is
   * live. Returns the seq, or undefined when the report is larger than maxMessageBytes
   * (dropped and counted; the seq is not used, so seqs stay gapless).
   */
  submit(report: Omit<Report, 'seq'>): number | undefined {
    const seq = this.nextSeq;
    const redisV2 = this.form === REPORT_FORM_V2 && report.redis.length ? this.encodeForm2(report.redis) : undefined;
    const form = redisV2 ? REPORT_FORM_V2 : REPORT_FORM_V1;
    const bytes = this.encode({
      report: mergeRecords<Report>(report, redisV2 ? { seq, redis: [], redisV2 } : { seq, redis: report.redis.map(plainSample) }),
    });
    const limit = this.collectorMaxBytes ? Math.min(this.collectorMaxBytes, this.opts.maxMessageBytes) : this.opts.maxMessageBytes;
    if (bytes.length > limit) {
      this.oversizeDropped++;
      if (this.once.enter('oversize', 'dropping')) {
        this.log.warn({ bytes: bytes.length, maxMessageBytes: limit }, 'report larger than maxMessageBytes dropped');
      }
      return undefined;
    }
    this.once.clear('oversize');
    this.nextSeq++;
    const dropped = this.buffer.push({ seq, bytes, form });
    if (dropped > 0 && this.once.enter('buffer', 'full')) {
      this.log.warn(
        { maxReports: this.buffer.maxReports, maxBytes: this.buffer.maxBytes, dropped: this.buffer.dropped },
        'report buffer full; dropping the oldest reports',
      );
    }
    this.pump();
    return seq;
  }

  /** Resolves true once every submitted report is acked, false after `timeoutMs`. */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.buffer.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.flushWaiters = this.flushWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.flushWaiters.push(done);
    });
  }

  /** Closes the stream: half-close so the collector sees a clean end, then the channel. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearTimeout(this.welcomeTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.failbackTimer);
    const { call, client } = this;
    this.call = undefined;
    this.client = undefined;
    for (const w of this.flushWaiters.splice(0)) w();
    if (call) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        call.once('status', () => {
          clearTimeout(timer);
          resolve();
        });
        try {
          call.end();
        } catch {
          resolve();
        }
      });
      call.cancel();
    }
    client?.close();
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    const attempt = ++this.attempt;
    const address = this.order[this.addrIndex]!;
    this.state = 'connecting';
    this.failReason = undefined;
    const Client = fleetService();
    const serverName = this.opts.tls?.serverName;
    const client = new Client(target(address), this.credentials(), {
      ...(serverName ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {}),
      'grpc.max_send_message_length': this.opts.maxMessageBytes,
      'grpc.max_receive_message_length': this.opts.maxMessageBytes,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.opts.token}`);
    const call = client.makeBidiStreamRequest(
      this.codec.path,
      (b: Buffer) => b,
      (b: Buffer) => this.codec.responseDeserialize(b) as DecodedCollectorMessage,
      md,
      {},
    );
    this.client = client;
    this.call = call;
    this.sentUpTo = 0;
    this.waitingDrain = false;
    call.on('data', (msg: DecodedCollectorMessage) => {
      if (attempt === this.attempt) this.onMessage(msg, address);
    });
    call.on('error', () => {
      /* the 'status' event carries the outcome */
    });
    call.on('status', (st: grpc.StatusObject) => {
      if (attempt === this.attempt) this.onClosed(st, address);
    });
    call.write(this.codec.requestSerialize({ hello: this.hello }));
    const welcomeMs = this.opts.welcomeTimeoutMs ?? 10_000;
    this.welcomeTimer = setTimeout(() => {
      if (attempt !== this.attempt || this.state !== 'connecting') return;
      this.failReason = `no welcome within ${welcomeMs}ms`;
      call.cancel();
    }, welcomeMs);
  }

  private onMessage(msg: DecodedCollectorMessage, address: HostPort): void {
    const m = msg as {
      body?: string;
      welcome?: { collectorVersion: string; maxMessageBytes?: number; reportForm?: number };
      ack?: { sessionId: string; seq: number };
      reject?: { seq: number; reason: string };
    };
    const kind = m.body ?? (m.welcome ? 'welcome' : m.ack ? 'ack' : m.reject ? 'reject' : '');
    if (kind === 'welcome' && m.welcome) {
      if (this.state !== 'connecting') return;
      clearTimeout(this.welcomeTimer);
      this.state = 'live';
      this.backoff.reset();
      this.roundFailures = 0;
      if (this.addrIndex > 0) this.armFailback();
      this.collectorMaxBytes = Number(m.welcome.maxMessageBytes ?? 0);
      this.form = m.welcome.reportForm === REPORT_FORM_V2 ? REPORT_FORM_V2 : REPORT_FORM_V1;
      this.dropOversized();
      if (this.once.clear('auth')) this.log.info({ address: address.address }, 'collector accepted the token');
      this.once.clear('link');
      if (this.once.clear('tls')) this.log.info({ address: address.address }, 'TLS to the collector works again');
      this.lastError = '';
      this.log.info(
        {
          address: address.address,
          tls: this.tls !== undefined,
          collectorVersion: m.welcome.collectorVersion,
          reportForm: this.form,
          resending: this.buffer.size,
        },
        'connected to collector',
      );
      this.pump();
    } else if (kind === 'ack' && m.ack) {
      if (m.ack.sessionId && m.ack.sessionId !== this.sessionId) return;
      this.buffer.ack(m.ack.seq);
      if (this.buffer.size < this.buffer.maxReports && this.once.clear('buffer')) {
        this.log.info({ dropped: this.buffer.dropped }, 'report buffer has room again');
      }
      if (this.buffer.size === 0) for (const w of this.flushWaiters.splice(0)) w();
    } else if (kind === 'reject' && m.reject) {
      this.log.warn({ seq: m.reject.seq, reason: m.reject.reason }, 'collector rejected a message');
    }
  }

  /** Drops (counting) buffered reports the collector said it would refuse: they could never be acked. */
  private dropOversized(): void {
    if (!this.collectorMaxBytes || this.collectorMaxBytes >= this.opts.maxMessageBytes) return;
    const n = this.buffer.dropLargerThan(this.collectorMaxBytes);
    if (n === 0) return;
    this.oversizeDropped += n;
    if (this.once.enter('oversize', 'dropping')) {
      this.log.warn({ dropped: n, maxMessageBytes: this.collectorMaxBytes }, 'report larger than maxMessageBytes dropped');
    }
  }

  /** A buffered form-2 report re-encoded in form 1, for a collector that did not accept form 2 (failover to an older one). */
  private toForm1(bytes: Buffer): Buffer {
    const m = this.codec.requestDeserialize(bytes) as { report: Report };
    const r = m.report;
    const v2 = r.redisV2;
    if (v2?.length) r.redis = r.redis.concat(decodeRedisSamples(Buffer.from(v2.buffer, v2.byteOffset, v2.byteLength)).samples);
    r.redisV2 = null;
    return this.encode({ report: r });
  }

  /** Writes every buffered report after `sentUpTo`, respecting stream back-pressure. */
  private pump(): void {
    const call = this.call;
    if (this.state !== 'live' || !call || this.waitingDrain) return;
    for (;;) {
      const next = this.buffer.after(this.sentUpTo);
      if (!next) return;
      this.sentUpTo = next.seq;
      const bytes = next.form === REPORT_FORM_V2 && this.form !== REPORT_FORM_V2 ? this.toForm1(next.bytes) : next.bytes;
      if (!call.write(bytes)) {
        this.waitingDrain = true;
        call.once('drain', () => {
          this.waitingDrain = false;
          if (call === this.call) this.pump();
        });
        return;
      }
    }
  }

  private onClosed(st: grpc.StatusObject, address: HostPort): void {
    if (this.state === 'stopped') return;
    clearTimeout(this.welcomeTimer);
    const wasLive = this.state === 'live';
    if (wasLive) this.reconnects++;
    this.call = undefined;
    this.client?.close();
    this.client = undefined;
    const details = (st.details ?? '').split(this.opts.token).join('[redacted]');
    const tls = tlsProblem(details, this.tls !== undefined);
    this.lastError = tls?.text ?? this.failReason ?? `${grpc.status[st.code] ?? st.code}: ${details}`;
    if (tls) {
      if (this.once.enter('tls', tls.text)) {
        this.log.error(
          { address: address.address, tlsError: tls.kind, reason: tls.text, buffered: this.buffer.size },
          'TLS to the collector failed; buffering reports and retrying',
        );
      }
    } else if (st.code === grpc.status.UNAUTHENTICATED) {
      if (this.once.enter('auth', 'rejected')) {
        this.log.error(
          { address: address.address, code: 'UNAUTHENTICATED', details },
          'collector rejected the token; retrying with backoff',
        );
      }
    } else if (this.once.enter('link', 'down')) {
      const reason = this.failReason ?? `${grpc.status[st.code] ?? st.code}: ${details}`;
      this.log.warn(
        { address: address.address, reason, buffered: this.buffer.size },
        'collector unreachable; buffering reports and retrying',
      );
    }
    this.state = 'waiting';
    clearTimeout(this.failbackTimer);
    if (wasLive) this.roundFailures = 0;
    this.roundFailures++;
    this.addrIndex = (this.addrIndex + 1) % this.order.length;
    // The next address at once (failover); backoff only after a whole round failed, then from the preferred one.
    let delay = 0;
    if (this.roundFailures >= this.order.length) {
      this.roundFailures = 0;
      this.addrIndex = 0;
      delay = this.backoff.next();
    }
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private armFailback(): void {
    clearTimeout(this.failbackTimer);
    this.failbackTimer = setTimeout(() => void this.failback(), this.opts.failbackMs ?? DEFAULT_FAILBACK_MS);
    this.failbackTimer.unref();
  }

  /** On a fallback address: move back to the preferred collector when its port answers. */
  private async failback(): Promise<void> {
    if (this.state !== 'live' || this.addrIndex === 0) return;
    const preferred = this.order[0]!;
    const reachable = await canConnect(preferred, 1000);
    if (this.state !== 'live' || this.addrIndex === 0) return;
    if (!reachable) {
      this.armFailback();
      return;
    }
    this.log.info({ from: this.order[this.addrIndex]!.address, to: preferred.address }, 'failing back to the preferred collector');
    const { call, client } = this;
    this.attempt++; // the old stream's events are ignored from here on
    this.call = undefined;
    this.client = undefined;
    call?.cancel();
    client?.close();
    this.addrIndex = 0;
    this.roundFailures = 0;
    this.connect();
  }
}

function canConnect(a: HostPort, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: a.host, port: a.port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
