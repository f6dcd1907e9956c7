// The Fleet gRPC server: one bidi stream per agent. Auth on call metadata before
// anything else; then hello -> welcome, report -> points to the sink -> ack once
// stored, in order per stream (ack N only when every report up to N is stored).
// When the sink has no room the stream stops reading (backpressure); past a bound it
// ends with UNAVAILABLE so the agent keeps buffering and retries.
// Every protocol violation ends only that stream (a specific status), never the process.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/index.js';
import {
  fleetService,
  fingerprintText,
  formProblem,
  REPORT_FORM_V1,
  REPORT_FORM_V2,
  SCHEMA_FINGERPRINT,
  decodeLazySamples,
  type Hello,
  type Report,
  type CollectorMessage,
} from '../proto/index.js';
import type { TokenChecker } from './auth.js';
import type { GrpcTlsConfig, ListenAddress } from './config.js';
import { decoderReleasesChunks } from './grpc-decoder.js';
import { GrpcListener } from './grpc-listener.js';
import { reportBatch, type SinkBatch } from './batch.js';
import type { MetricSink } from './sink.js';
import type { FleetState } from './state.js';
import { helloProblem, reportProblem } from './validate.js';

/** An AgentMessage as decoded by proto-loader, or a marker when the bytes were not one. */
interface DecodedAgentMessage {
  body?: 'hello' | 'report';
  hello?: Hello;
  report?: Report;
  decodeError?: string;
}

type AgentCall = grpc.ServerDuplexStream<DecodedAgentMessage, CollectorMessage>;

export interface GrpcDeps {
  state: FleetState;
  sink: MetricSink;
  tokens: TokenChecker;
  logger: Logger;
  collectorVersion: string;
}

export interface GrpcOptions {
  listen: ListenAddress;
  maxMessageBytes: number;
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  tls?: GrpcTlsConfig;
  /** Accept report form 2 from agents that offer it (grpc.reportForm2, default true); off, Welcome says nothing of forms, as before them. */
  reportForm2?: boolean;
  /** How long a stream may wait for room in the sink before it is ended with UNAVAILABLE (default 30 s). */
  backpressureLimitMs?: number;
}

const BACKPRESSURE_RETRY_MS = 100;
const DEFAULT_BACKPRESSURE_LIMIT_MS = 30_000;

/** A report taken by the sink, waiting for its points to be stored. */
interface Unacked {
  seq: number;
  stored: boolean;
}

/**
 * The service definition with a decoder that never throws: grpc-js would answer
 * undecodable bytes with INTERNAL; we want INVALID_ARGUMENT naming the problem.
 */
function tolerantService(): grpc.ServiceDefinition {
  const base = fleetService().service;
  const connect = base.Connect!;
  return {
    ...base,
    Connect: {
      ...connect,
      requestDeserialize: (buf: Buffer): DecodedAgentMessage => {
        try {
          return connect.requestDeserialize(buf) as DecodedAgentMessage;
        } catch (err) {
          return { decodeError: (err as Error).message };
        }
      },
    },
  };
}

/** One agent stream and its protocol state. */
class AgentStream {
  private hello: Hello | undefined;
  /** The report form this stream negotiated (proto/form2.ts). */
  private form = REPORT_FORM_V1;
  private done = false;
  private readonly unacked: Unacked[] = [];
  private unackedHead = 0;
  /** A report the sink had no room for (retried), and the messages that arrived after it. */
  private blocked: { seq: number; batch: SinkBatch; since: number } | undefined;
  private readonly backlog: DecodedAgentMessage[] = [];
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly call: AgentCall,
    private readonly server: FleetGrpcServer,
    private readonly deps: GrpcDeps,
    readonly peer: string,
  ) {}

  get hostId(): string | undefined {
    return this.hello?.hostId;
  }

  start(): void {
    const auth = this.deps.tokens.check(this.call.metadata.get('authorization')[0]?.toString());
    if (!auth.ok) {
      this.deps.logger.warn({ peer: this.peer, reason: auth.reason }, 'agent stream refused: unauthenticated');
      this.fail(grpc.status.UNAUTHENTICATED, auth.reason);
      return;
    }
    this.call.on('data', (m: DecodedAgentMessage) => this.onMessage(m));
    this.call.on('end', () => this.finish('agent closed the stream'));
    this.call.on('cancelled', () => this.finish('cancelled'));
    this.call.on('close', () => this.finish('closed'));
    this.call.on('error', (err) => this.finish(`error: ${err.message}`));
  }

  /** Ends the stream with a status (no-op when already ended). */
  fail(code: grpc.status, details: string): void {
    if (this.done) return;
    this.finish(details);
    this.call.emit('error', { code, details, metadata: new grpc.Metadata() } satisfies Partial<grpc.StatusObject>);
  }

  private onMessage(m: DecodedAgentMessage): void {
    if (this.done) return;
    if (this.blocked) {
      this.backlog.push(m);
      return;
    }
    try {
      if (m.decodeError !== undefined) {
        this.fail(grpc.status.INVALID_ARGUMENT, `malformed AgentMessage: ${m.decodeError}`);
      } else if (m.body === 'hello' && m.hello) {
        this.onHello(m.hello);
      } else if (m.body === 'report' && m.report) {
        this.onReport(m.report);
      } else {
        this.fail(grpc.status.INVALID_ARGUMENT, 'AgentMessage carries neither hello nor report');
      }
    } catch (err) {
      this.deps.logger.error(
        { peer: this.peer, host: this.hostId, error: (err as Error).message, stack: (err as Error).stack },
        'agent stream: internal error',
      );
      this.fail(grpc.status.INTERNAL, 'internal error in the collector (logged there)');
    }
  }

  private onHello(h: Hello): void {
    if (this.hello) {
      this.fail(grpc.status.INVALID_ARGUMENT, 'hello sent twice on one stream');
      return;
    }
    const problem = helloProblem(h);
    if (problem) {
      this.deps.logger.warn({ peer: this.peer, problem }, 'agent hello refused');
      this.fail(grpc.status.INVALID_ARGUMENT, problem);
      return;
    }
    const bound = this.server.hostIdRefusal(this.peer, h.hostId);
    if (bound) {
      this.deps.logger.warn(
        { peer: this.peer, host: h.hostId, problem: bound },
        'agent hello refused: client certificate bound to another host id',
      );
      this.fail(grpc.status.PERMISSION_DENIED, bound);
      return;
    }
    this.hello = h;
    this.form = this.negotiateForm(h);
    this.server.register(this);
    this.deps.state.hello(h);
    this.deps.logger.info(
      { host: h.hostId, peer: this.peer, session: h.sessionId, agentVersion: h.agentVersion, intervalMs: h.intervalMs },
      'agent connected',
    );
    this.call.write({
      welcome: {
        collectorVersion: this.deps.collectorVersion,
        serverTimeMs: Date.now(),
        maxMessageBytes: this.server.maxMessageBytes,
        ...(this.server.reportForm2 ? { reportForm: this.form } : {}),
      },
    });
  }

  /** Form 2 when the agent offers it with our schema; a schema mismatch is said once, and form 1 it is. */
  private negotiateForm(h: Hello): number {
    if (!this.server.reportForm2 || !h.reportForms?.includes(REPORT_FORM_V2)) return REPORT_FORM_V1;
    if (h.schema === SCHEMA_FINGERPRINT) return REPORT_FORM_V2;
    this.deps.logger.warn(
      {
        host: h.hostId,
        agentVersion: h.agentVersion,
        agentSchema: fingerprintText(h.schema ?? 0),
        schema: fingerprintText(SCHEMA_FINGERPRINT),
      },
      'agent offers report form 2 with another metric schema: it reports in form 1 (upgrade the agent or the collector to match)',
    );
    return REPORT_FORM_V1;
  }

  private onReport(r: Report): void {
    const hello = this.hello;
    if (!hello) {
      const reason = 'report before hello: send hello first';
      this.call.write({ reject: { seq: r.seq, reason } });
      this.fail(grpc.status.INVALID_ARGUMENT, reason);
      return;
    }
    const problem = this.unpackForm2(r) ?? reportProblem(r);
    if (problem) {
      this.deps.logger.warn({ host: hello.hostId, problem }, 'agent report refused');
      this.call.write({ reject: { seq: r.seq, reason: problem } });
      this.fail(grpc.status.INVALID_ARGUMENT, problem);
      return;
    }
    this.deps.state.report(hello.hostId, r);
    const ingest = this.server.ingest;
    ingest.reports++;
    ingest.samples += r.redis.length + r.proxies.length + (r.sentinels?.length ?? 0) + (r.dashboards?.length ?? 0);
    this.submit(r.seq, reportBatch(r, hello));
  }

  /** A form-2 report's Redis samples back in `redis` (proto/form2.ts), or why they cannot be read. */
  private unpackForm2(r: Report): string | null {
    const v2 = r.redisV2;
    if (!v2?.length) return null;
    let decoded: ReturnType<typeof decodeLazySamples>;
    try {
      decoded = decodeLazySamples(Buffer.isBuffer(v2) ? v2 : Buffer.from(v2.buffer, v2.byteOffset, v2.byteLength));
    } catch (err) {
      return `report.redisV2 is not a redisfleet.v2.RedisSamples: ${(err as Error).message}`;
    }
    const problem = formProblem(decoded.schema, this.form === REPORT_FORM_V2);
    if (problem) return problem;
    r.redis = r.redis.length ? r.redis.concat(decoded.samples) : decoded.samples;
    r.redisV2 = null;
    return null;
  }

  /** Hands the report's points to the sink; without room, pauses the stream and retries. */
  private submit(seq: number, batch: SinkBatch): void {
    if (this.tryWrite(seq, batch)) return;
    this.blocked = { seq, batch, since: Date.now() };
    this.call.pause();
    this.server.noteBackpressure(this, true);
    this.retryTimer = setTimeout(() => this.retryBlocked(), BACKPRESSURE_RETRY_MS);
  }

  /** One write attempt; the report joins the in-order ack queue only when the sink took it. */
  private tryWrite(seq: number, batch: SinkBatch): boolean {
    const slot: Unacked = { seq, stored: false };
    this.unacked.push(slot);
    // onStored may run synchronously (nothing to store): the slot is in place first.
    if (
      this.deps.sink.write(batch, () => {
        slot.stored = true;
        this.sendAcks();
      })
    )
      return true;
    this.unacked.pop();
    return false;
  }

  private retryBlocked(): void {
    const b = this.blocked;
    if (!b || this.done) return;
    if (Date.now() - b.since >= this.server.backpressureLimitMs) {
      this.deps.logger.warn(
        { host: this.hostId, waitedMs: Date.now() - b.since },
        'agent stream ended: no room to store its reports (the agent keeps buffering and retries)',
      );
      this.server.backpressureEnds++;
      this.fail(grpc.status.UNAVAILABLE, 'collector storage full: no room for reports now; keep buffering and retry');
      return;
    }
    if (!this.tryWrite(b.seq, b.batch)) {
      this.retryTimer = setTimeout(() => this.retryBlocked(), BACKPRESSURE_RETRY_MS);
      return;
    }
    this.blocked = undefined;
    this.server.noteBackpressure(this, false);
    // Messages that arrived while blocked, in order (one may block again).
    while (this.backlog.length && !this.blocked && !this.done) this.onMessage(this.backlog.shift()!);
    if (!this.blocked && !this.done) this.call.resume();
  }

  /** Acks every stored report at the front, in arrival order. */
  private sendAcks(): void {
    const sessionId = this.hello?.sessionId ?? '';
    while (this.unackedHead < this.unacked.length && this.unacked[this.unackedHead]!.stored) {
      const seq = this.unacked[this.unackedHead++]!.seq;
      if (!this.done) {
        this.call.write({ ack: { sessionId, seq } });
        this.server.ingest.acked++;
      }
    }
    if (this.unackedHead === this.unacked.length) {
      this.unacked.length = 0;
      this.unackedHead = 0;
    } else if (this.unackedHead > 1024) {
      this.unacked.splice(0, this.unackedHead);
      this.unackedHead = 0;
    }
  }

  private finish(why: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.retryTimer);
    if (this.blocked) this.server.noteBackpressure(this, false);
    this.blocked = undefined;
    this.backlog.length = 0;
    this.server.unregister(this, why);
  }
}

export class FleetGrpcServer {
  private readonly server: grpc.Server;
  private readonly streams = new Set<AgentStream>();
  private readonly byHost = new Map<string, AgentStream>();
  private readonly paused = new Set<AgentStream>();
  private boundAddress = '';
  private readonly listener: GrpcListener;
  /** Streams ended because the sink had no room, since start. */
  backpressureEnds = 0;
  /** Since start: valid reports taken, reports acked, instance samples (Redis, proxy, Sentinel, dashboard) in them. */
  readonly ingest = { reports: 0, acked: 0, samples: 0 };

  constructor(
    private readonly opts: GrpcOptions,
    private readonly deps: GrpcDeps,
  ) {
    // grpc-js writes its own diagnostics to stderr; keep stderr for the one-line config errors.
    const grpcLog = deps.logger.child({ component: 'grpc-js' });
    grpc.setLogger({ error: (...args: unknown[]) => grpcLog.warn(args.map(String).join(' ')) } as unknown as Console);
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': opts.maxMessageBytes,
      // Ping idle agents so a dead peer (pulled cable, frozen VM) ends its stream.
      'grpc.keepalive_time_ms': opts.keepaliveTimeMs ?? 30_000,
      'grpc.keepalive_timeout_ms': opts.keepaliveTimeoutMs ?? 10_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    this.server.addService(tolerantService(), {
      Connect: (call: AgentCall) => {
        const s = new AgentStream(call, this, deps, call.getPeer());
        this.streams.add(s);
        const refusal = this.listener.admit(s.peer);
        if (refusal) s.fail(refusal.code, refusal.details);
        else s.start();
      },
    });
    this.listener = new GrpcListener(opts.listen, this.server, opts.tls, deps.logger);
  }

  /** With mutual TLS: why `hostId` may not be reported over this connection (undefined = it may). */
  hostIdRefusal(peer: string, hostId: string): string | undefined {
    const allowed = this.listener.allowedHostIds(peer);
    if (!allowed || allowed.hostIds.includes(hostId)) return undefined;
    return `TLS: the client certificate (${allowed.identities.join(', ') || 'no identity'}) may report as host ${allowed.hostIds.join(', ') || '(none)'}, not ${hostId} (grpc.tls.hostIdMap)`;
  }

  get reportForm2(): boolean {
    return this.opts.reportForm2 ?? true;
  }
  get maxMessageBytes(): number {
    return this.opts.maxMessageBytes;
  }
  get backpressureLimitMs(): number {
    return this.opts.backpressureLimitMs ?? DEFAULT_BACKPRESSURE_LIMIT_MS;
  }
  /** Streams currently paused because the sink has no room. */
  get pausedStreams(): number {
    return this.paused.size;
  }

  noteBackpressure(s: AgentStream, on: boolean): void {
    if (on) this.paused.add(s);
    else this.paused.delete(s);
  }

  /** host:port actually bound. */
  get address(): string {
    return this.boundAddress;
  }

  get connectedHosts(): number {
    return this.byHost.size;
  }

  async listen(): Promise<string> {
    this.boundAddress = await this.listener.listen();
    if (!decoderReleasesChunks())
      this.deps.logger.warn(
        { hint: 'collector/grpc-decoder.ts' },
        "grpc-js's stream decoder is not the one this collector knows: each agent stream keeps its last report's raw chunks (more memory per host)",
      );
    return this.boundAddress;
  }

  register(s: AgentStream): void {
    const id = s.hostId!;
    const old = this.byHost.get(id);
    this.byHost.set(id, s);
    this.deps.state.setConnected(id, true);
    if (old && old !== s) {
      this.deps.logger.info({ host: id, peer: s.peer, oldPeer: old.peer }, 'agent reconnected; replacing its previous stream');
      old.fail(grpc.status.ABORTED, 'replaced by a newer stream from the same host');
    }
  }

  unregister(s: AgentStream, why: string): void {
    this.streams.delete(s);
    const id = s.hostId;
    if (id && this.byHost.get(id) === s) {
      this.byHost.delete(id);
      this.deps.state.setConnected(id, false);
      this.deps.logger.info({ host: id, peer: s.peer, why }, 'agent disconnected');
    }
  }

  async close(graceMs = 2000): Promise<void> {
    this.listener.close();
    for (const s of [...this.streams]) s.fail(grpc.status.UNAVAILABLE, 'collector shutting down');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
