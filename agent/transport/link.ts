// The agent's one long-lived bidi stream to the collector: Hello, wait for Welcome,
// then every buffered report in seq order and each new one as it comes. Acks
// (cumulative) free the buffer; on any failure the stream is dropped and re-opened
// trying the configured addresses in this host's rendezvous order (the next one at once
// after a failure, backoff only once every address failed), and whatever is still unacked
// is sent again in order. On a fallback address, the preferred one is probed every
// `failbackMs` and taken back when it answers. Sampling never waits for any of this.
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Backoff, OnceLog, type Logger } from '../../common/index.js';
import { encodeAgentMessage, fleetService, type CollectorMessage, type Hello, type Report } from '../../proto/index.js';
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
}

type Codec = {
  requestSerialize(v: unknown): Buffer;
  responseDeserialize(b: Buffer): unknown;
  path: string;
};

type DecodedCollectorMessage = CollectorMessage & { body?: string };

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

  constructor(private readonly opts: LinkOptions) {
    this.codec = (fleetService() as unknown as { service: { Connect: Codec } }).service.Connect;
    this.buffer = new ReportBuffer(opts.buffer.maxReports, opts.buffer.maxBytes);
    this.backoff = new Backoff(opts.backoff?.baseMs ?? 250, opts.backoff?.maxMs ?? 10_000);
    this.log = opts.logger.child({ component: 'transport' });
    this.order = rendezvousOrder(opts.hello.hostId, opts.addresses);
  }

  /** The addresses in this host's order of preference. */
  get preference(): string[] { return this.order.map((a) => a.address); }

  get sessionId(): string { return this.opts.hello.sessionId; }

  /** The fast encoder; proto-loader's serializer (which coerces types) if it refuses the object. */
  private encode(msg: unknown): Buffer {
    try {
      return encodeAgentMessage(msg);
    } catch (err) {
      if (this.once.enter('encode', 'fallback')) this.log.warn({ err: (err as Error).message }, 'fast report encoding failed; using the proto-loader serializer');
      return this.codec.requestSerialize(msg);
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
    const bytes = this.encode({ report: { ...report, seq } });
    if (bytes.length > this.opts.maxMessageBytes) {
      this.oversizeDropped++;
      if (this.once.enter('oversize', 'dropping')) {
        this.log.warn({ bytes: bytes.length, maxMessageBytes: this.opts.maxMessageBytes }, 'report larger than maxMessageBytes dropped');
      }
      return undefined;
    }
    this.once.clear('oversize');
    this.nextSeq++;
    const dropped = this.buffer.push({ seq, bytes });
    if (dropped > 0 && this.once.enter('buffer', 'full')) {
      this.log.warn({ maxReports: this.buffer.maxReports, maxBytes: this.buffer.maxBytes, dropped: this.buffer.dropped },
        'report buffer full; dropping the oldest reports');
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
      const done = (): void => { clearTimeout(timer); resolve(true); };
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
        call.once('status', () => { clearTimeout(timer); resolve(); });
        try { call.end(); } catch { resolve(); }
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
    const client = new Client(target(address), grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': this.opts.maxMessageBytes,
      'grpc.max_receive_message_length': this.opts.maxMessageBytes,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.opts.token}`);
    const call = client.makeBidiStreamRequest(
      this.codec.path, (b: Buffer) => b, (b: Buffer) => this.codec.responseDeserialize(b) as DecodedCollectorMessage, md, {},
    );
    this.client = client;
    this.call = call;
    this.sentUpTo = 0;
    this.waitingDrain = false;
    call.on('data', (msg: DecodedCollectorMessage) => { if (attempt === this.attempt) this.onMessage(msg, address); });
    call.on('error', () => { /* the 'status' event carries the outcome */ });
    call.on('status', (st: grpc.StatusObject) => { if (attempt === this.attempt) this.onClosed(st, address); });
    call.write(this.codec.requestSerialize({ hello: this.opts.hello }));
    const welcomeMs = this.opts.welcomeTimeoutMs ?? 10_000;
    this.welcomeTimer = setTimeout(() => {
      if (attempt !== this.attempt || this.state !== 'connecting') return;
      this.failReason = `no welcome within ${welcomeMs}ms`;
      call.cancel();
    }, welcomeMs);
  }

  private onMessage(msg: DecodedCollectorMessage, address: HostPort): void {
    const m = msg as { body?: string; welcome?: { collectorVersion: string }; ack?: { sessionId: string; seq: number }; reject?: { seq: number; reason: string } };
    const kind = m.body ?? (m.welcome ? 'welcome' : m.ack ? 'ack' : m.reject ? 'reject' : '');
    if (kind === 'welcome' && m.welcome) {
      if (this.state !== 'connecting') return;
      clearTimeout(this.welcomeTimer);
      this.state = 'live';
      this.backoff.reset();
      this.roundFailures = 0;
      if (this.addrIndex > 0) this.armFailback();
      if (this.once.clear('auth')) this.log.info({ address: address.address }, 'collector accepted the token');
      this.once.clear('link');
      this.log.info({ address: address.address, collectorVersion: m.welcome.collectorVersion, resending: this.buffer.size }, 'connected to collector');
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

  /** Writes every buffered report after `sentUpTo`, respecting stream back-pressure. */
  private pump(): void {
    const call = this.call;
    if (this.state !== 'live' || !call || this.waitingDrain) return;
    for (;;) {
      const next = this.buffer.after(this.sentUpTo);
      if (!next) return;
      this.sentUpTo = next.seq;
      if (!call.write(next.bytes)) {
        this.waitingDrain = true;
        call.once('drain', () => { this.waitingDrain = false; if (call === this.call) this.pump(); });
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
    if (st.code === grpc.status.UNAUTHENTICATED) {
      if (this.once.enter('auth', 'rejected')) {
        this.log.error({ address: address.address, code: 'UNAUTHENTICATED', details }, 'collector rejected the token; retrying with backoff');
      }
    } else if (this.once.enter('link', 'down')) {
      const reason = this.failReason ?? `${grpc.status[st.code] ?? st.code}: ${details}`;
      this.log.warn({ address: address.address, reason, buffered: this.buffer.size }, 'collector unreachable; buffering reports and retrying');
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
    if (!reachable) { this.armFailback(); return; }
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
    const done = (ok: boolean) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
