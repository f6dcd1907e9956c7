// Shared by the collector tests: a real gRPC agent client (grpc-js + the v1 contract)
// and report builders fed from the real INFO ALL captures in test/fixtures.
import fs from 'node:fs';
import crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  fleetService,
  intValue,
  floatValue,
  strValue,
  PROTOCOL_VERSION,
  type AgentMessage,
  type Hello,
  type Report,
  type RedisSample,
  type Value,
} from '../proto/index.js';
import { fixturePath } from './fixtures.js';

const FIXTURES = fixturePath('redis');

/** An INFO ALL capture as the agent's typed map (ints, floats, strings), without the per-row sections. */
export function infoFixture(kind: 'master' | 'replica'): Record<string, Value> {
  const text = fs.readFileSync(`${FIXTURES}/info-all-${kind}-7.0.15.txt`, 'utf8');
  const out: Record<string, Value> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    const k = line.slice(0, i);
    const v = line.slice(i + 1);
    if (/^(slave\d+|db\d+|cmdstat_|latency_percentiles_usec_|errorstat_)/.test(k)) continue;
    if (/^-?\d+$/.test(v)) out[k] = intValue(Number(v));
    else if (v !== '' && Number.isFinite(Number(v))) out[k] = floatValue(Number(v));
    else out[k] = strValue(v);
  }
  return out;
}

export interface SampleOptions {
  address?: string;
  up?: boolean;
  role?: 'master' | 'slave';
  cluster?: string;
  group?: string;
  sampledAtMs?: number;
  info?: Record<string, Value>;
}

/** A full RedisSample: the real master capture plus its structured rows. */
export function redisSample(o: SampleOptions = {}): RedisSample {
  const up = o.up ?? true;
  const role = o.role ?? 'master';
  const info = up ? { ...infoFixture(role === 'master' ? 'master' : 'replica'), ...o.info } : { ...o.info };
  return {
    address: o.address ?? '127.0.0.1:17379',
    cluster: o.cluster ?? 'c1',
    group: o.group ?? 'g1',
    up,
    error: up ? '' : 'connect ECONNREFUSED 127.0.0.1:17379',
    sampledAtMs: o.sampledAtMs ?? 0,
    role: up ? role : '',
    info,
    replicas:
      up && role === 'master'
        ? [{ id: 'slave0', ip: '127.0.0.1', port: 17380, state: 'online', offset: 64, lagSeconds: 1, lagBytes: 0 }]
        : [],
    keyspace: up
      ? [
          { db: 'db0', keys: 20016, expires: 0, avgTtl: 0 },
          { db: 'db1', keys: 1, expires: 0, avgTtl: 0 },
        ]
      : [],
    commandstats: up ? [{ command: 'config|get', calls: 215, usec: 42076, usecPerCall: 195.7, rejectedCalls: 0, failedCalls: 0 }] : [],
    latencystats: up ? [{ command: 'info', p50: 139.263, p99: 253.951, p999: 313.343 }] : [],
    errorstats: up ? [{ error: 'ERR', count: 3 }] : [],
    maxmemory: up ? 268_435_456 : -1,
    maxclients: up ? 10_000 : -1,
    rates: {
      valid: up,
      opsPerSec: 120.5,
      netInputBytesPerSec: 1000.25,
      netOutputBytesPerSec: 2000.5,
      keyspaceHitRatio: -1,
      evictedKeysPerSec: 0,
      expiredKeysPerSec: 0.5,
      rejectedConnectionsPerSec: 0,
    },
    headroom: up
      ? { usedBytes: 5_491_288, limitBytes: 268_435_456, limitSource: 'maxmemory', usedRatio: 5_491_288 / 268_435_456 }
      : undefined,
    unavailable: up ? ['LATENCY'] : [],
    slowlog: up
      ? [{ id: 1007, timestamp: 1_795_345_400, durationUsec: 12_000, command: 'KEYS *', client: '127.0.0.1:5000', clientName: '' }]
      : [],
  };
}

export interface ReportOptions {
  timestampMs?: number;
  redis?: RedisSample[];
  proxies?: Report['proxies'];
  events?: Report['events'];
}

export function makeReport(seq: number, o: ReportOptions = {}): Report {
  return {
    seq,
    timestampMs: o.timestampMs ?? Date.now(),
    host: {
      cpuPercent: 12.5,
      cpuCores: 2,
      load1: 0.5,
      load5: 0.4,
      load15: 0.3,
      memTotalBytes: 25_276_510_208,
      memAvailableBytes: 20_000_000_000,
      swapTotalBytes: 0,
      swapUsedBytes: 0,
      dataPath: '/',
      diskTotalBytes: 1e12,
      diskFreeBytes: 5e11,
      diskReadBytesPerSec: 1.5,
      diskWriteBytesPerSec: 2.5,
      netRxBytesPerSec: 3,
      netTxBytesPerSec: 4,
      netInterface: 'eth0',
    },
    capacity: { instanceSlots: 8, runningInstances: 1, maxmemoryReservedBytes: 268_435_456, idleInstances: 0, idleAddresses: [] },
    redis: o.redis ?? [redisSample()],
    proxies: o.proxies ?? [],
    events: o.events ?? [],
    agent: { bufferedReports: 0, droppedReports: 0, tickCpuMs: 1.25, rssBytes: 50_000_000, reconnects: 0 },
  };
}

export function makeHello(hostId: string, o: Partial<Hello> = {}): Hello {
  return {
    hostId,
    labels: { idc: 'sz-a', city: 'sz', env: 'test', module: '' },
    roles: ['redis'],
    agentVersion: '0.0.0-test',
    intervalMs: 10_000,
    sessionId: crypto.randomUUID(),
    protocolVersion: PROTOCOL_VERSION,
    ...o,
  };
}

/** What the collector sent, decoded. */
export interface Received {
  body: 'welcome' | 'ack' | 'reject' | 'directive';
  welcome?: { collectorVersion: string; serverTimeMs: number };
  ack?: { sessionId: string; seq: number };
  reject?: { seq: number; reason: string };
}

function waitUntil<T>(fn: () => T | undefined, what: string, timeoutMs: number, onChange: (wake: () => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let off = () => {};
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const check = () => {
      try {
        const v = fn();
        if (v === undefined) return;
        clearTimeout(timer);
        off();
        resolve(v);
      } catch (err) {
        clearTimeout(timer);
        off();
        reject(err as Error);
      }
    };
    off = onChange(check);
    check();
  });
}

/** A real agent-side stream: grpc-js client, `authorization` metadata, the v1 messages. */
export class TestAgent {
  readonly received: Received[] = [];
  status: grpc.StatusObject | undefined;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<AgentMessage | Buffer, Received>;
  private readonly wakers = new Set<() => void>();

  constructor(address: string, token: string | null, opts: { maxSendBytes?: number } = {}) {
    const connect = fleetService().service.Connect!;
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': opts.maxSendBytes ?? 64 * 1024 * 1024,
    });
    const md = new grpc.Metadata();
    if (token !== null) md.set('authorization', `Bearer ${token}`);
    // Buffers go out as they are (garbage tests); messages through the contract's serializer.
    const serialize = (m: AgentMessage | Buffer): Buffer => (Buffer.isBuffer(m) ? m : connect.requestSerialize(m));
    this.call = this.client.makeBidiStreamRequest(connect.path, serialize, connect.responseDeserialize as (b: Buffer) => Received, md);
    this.call.on('data', (m: Received) => {
      this.received.push(m);
      this.wake();
    });
    this.call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.wake();
    });
    this.call.on('error', () => {
      /* the status event carries it */
    });
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }
  private watch = (w: () => void) => {
    this.wakers.add(w);
    return () => {
      this.wakers.delete(w);
    };
  };

  send(msg: AgentMessage): void {
    this.call.write(msg);
  }

  /** Writes raw bytes as one gRPC message (bypassing the serializer): garbage tests. */
  sendRaw(bytes: Buffer): void {
    this.call.write(bytes);
  }

  async hello(h: Hello, timeoutMs = 10_000): Promise<Received> {
    this.send({ hello: h });
    return waitUntil(() => this.received.find((m) => m.body === 'welcome') ?? this.failed(), 'welcome', timeoutMs, this.watch);
  }

  /** Sends the report and waits for its ack. */
  async report(r: Report, timeoutMs = 10_000): Promise<Received> {
    this.send({ report: r });
    return this.ack(r.seq, timeoutMs);
  }

  ack(seq: number, timeoutMs = 10_000): Promise<Received> {
    return waitUntil(
      () => this.received.find((m) => m.body === 'ack' && m.ack!.seq === seq) ?? this.failed(),
      `ack ${seq}`,
      timeoutMs,
      this.watch,
    );
  }

  /** Waits until `n` acks for `seq` arrived (replays are acked each time). */
  acks(seq: number, n: number, timeoutMs = 10_000): Promise<Received[]> {
    return waitUntil(
      () => {
        const got = this.received.filter((m) => m.body === 'ack' && m.ack!.seq === seq);
        return got.length >= n ? got : this.failed();
      },
      `${n} acks of ${seq}`,
      timeoutMs,
      this.watch,
    );
  }

  /** Resolves with the stream's final status. */
  ended(timeoutMs = 10_000): Promise<grpc.StatusObject> {
    return waitUntil(() => this.status, 'the stream status', timeoutMs, this.watch);
  }

  private failed(): undefined {
    if (this.status && this.status.code !== grpc.status.OK)
      throw new Error(`stream ended: ${grpc.status[this.status.code]} ${this.status.details}`);
    return undefined;
  }

  close(): void {
    try {
      this.call.end();
    } catch {
      /* already ended */
    }
    this.client.close();
  }
}
