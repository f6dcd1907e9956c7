// Helpers for the agent tests: a minimal but real gRPC collector peer (grpc-js server
// implementing Connect from the shared proto: checks the token, welcomes, acks), a
// logger that keeps its lines in memory, and config builders.
import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { fleetService, type Hello, type Report } from '../proto/index.js';
import { resolveAgentConfig, type AgentConfig } from '../agent/index.js';
import { freePort, LOOPBACK } from './harness/index.js';

export const TEST_TOKEN = 'agent-test-token-5f0c1e';

export interface ReceivedReport extends Report {
  sessionId: string;
  connection: number;
}

export interface TestCollectorOptions {
  token?: string;
  port?: number;
  /** Send acks (default true). */
  ack?: boolean;
  maxMessageBytes?: number;
}

/** A real grpc-js server speaking redisfleet.v1.Fleet/Connect, for driving the agent's transport. */
export class TestCollector {
  readonly reports: ReceivedReport[] = [];
  readonly hellos: Hello[] = [];
  authFailures = 0;
  connections = 0;
  ack: boolean;
  private server: grpc.Server | undefined;
  private readonly token: string;
  private readonly maxMessageBytes: number;
  private readonly calls = new Set<grpc.ServerDuplexStream<unknown, unknown>>();

  private constructor(
    readonly port: number,
    opts: TestCollectorOptions,
  ) {
    this.token = opts.token ?? TEST_TOKEN;
    this.ack = opts.ack ?? true;
    this.maxMessageBytes = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  }

  static async start(opts: TestCollectorOptions = {}): Promise<TestCollector> {
    const c = new TestCollector(opts.port ?? (await freePort()), opts);
    await c.listen();
    return c;
  }

  get address(): string {
    return `${LOOPBACK}:${this.port}`;
  }
  get running(): boolean {
    return this.server !== undefined;
  }
  seqs(): number[] {
    return this.reports.map((r) => r.seq);
  }

  async listen(): Promise<void> {
    if (this.server) return;
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.maxMessageBytes,
      'grpc.max_send_message_length': this.maxMessageBytes,
    });
    server.addService(fleetService().service, { Connect: (call: grpc.ServerDuplexStream<unknown, unknown>) => this.onConnect(call) });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(this.address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
    this.server = server;
  }

  /** Kills the server and every open stream at once (the agent sees the collector vanish). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const call of this.calls) call.destroy();
    this.calls.clear();
    server.forceShutdown();
  }

  private onConnect(call: grpc.ServerDuplexStream<unknown, unknown>): void {
    const auth = call.metadata.get('authorization')[0];
    if (auth !== `Bearer ${this.token}`) {
      this.authFailures++;
      call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'invalid token' });
      return;
    }
    const connection = ++this.connections;
    this.calls.add(call);
    let sessionId = '';
    call.on('data', (msg: { body?: string; hello?: Hello; report?: Report }) => {
      if (msg.body === 'hello' && msg.hello) {
        sessionId = msg.hello.sessionId;
        this.hellos.push(msg.hello);
        call.write({ welcome: { collectorVersion: 'test-collector', serverTimeMs: Date.now() } });
      } else if (msg.body === 'report' && msg.report) {
        if (!sessionId) {
          call.write({ reject: { seq: msg.report.seq, reason: 'report before hello' } });
          call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'report before hello' });
          return;
        }
        this.reports.push({ ...msg.report, sessionId, connection });
        if (this.ack) call.write({ ack: { sessionId, seq: msg.report.seq } });
      }
    });
    call.on('end', () => {
      this.calls.delete(call);
      call.end();
    });
    call.on('error', () => {
      this.calls.delete(call);
    });
    call.on('close', () => {
      this.calls.delete(call);
    });
  }
}

export interface MemoryLogger {
  logger: Logger;
  lines: Record<string, unknown>[];
  /** Every line as written (to search for secrets). */
  text(): string;
  count(msg: string | RegExp): number;
}

export function memoryLogger(level = 'debug'): MemoryLogger {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level, base: { pid: process.pid } },
    {
      write(s: string) {
        raw.push(s);
        lines.push(JSON.parse(s) as Record<string, unknown>);
      },
    },
  );
  return {
    logger,
    lines,
    text: () => raw.join(''),
    count: (msg) => lines.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg)))).length,
  };
}

/** A validated AgentConfig (through the real resolver) with the token passed via env. */
export function agentConfig(overrides: Record<string, unknown> & { collector?: Record<string, unknown> }): AgentConfig {
  const env = `AGENT_TEST_TOKEN_${process.pid}`;
  process.env[env] ??= TEST_TOKEN;
  const { collector, ...rest } = overrides;
  return resolveAgentConfig({
    hostId: 'test-host',
    interval: '200ms',
    discovery: { enabled: false },
    statusFile: '',
    ...rest,
    collector: { addresses: ['127.0.0.1:1'], tokenEnv: env, ...collector },
  });
}
