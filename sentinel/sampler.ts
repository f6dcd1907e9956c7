// Samples Sentinels: per Sentinel one SENTINEL masters, one SENTINEL CKQUORUM per master and
// INFO sentinel (tilt), all under one deadline, so a frozen Sentinel reports down, never late.
import { Redis } from 'ioredis';
import { errorText, nameWhenReady, withTimeout } from '../common/index.js';
import type { SentinelMasterState, SentinelSample } from '../proto/index.js';
import { parseCkquorum, parseMasters, splitAddress } from './parse.js';

export interface SamplerTarget {
  address: string;
  discovered: boolean;
  /** Never logged. */ password?: string;
}

export interface SamplerOptions {
  password?: string;
  timeoutMs: number;
  connectionName?: string;
}

export class SentinelSampler {
  private readonly clients = new Map<string, { client: Redis; target: SamplerTarget; lastError?: string }>();

  constructor(
    targets: SamplerTarget[],
    private readonly opts: SamplerOptions,
  ) {
    this.setTargets(targets);
  }

  get addresses(): string[] {
    return [...this.clients.keys()];
  }

  /** Opens clients for new Sentinels, closes those no longer wanted. */
  setTargets(targets: SamplerTarget[]): void {
    const wanted = new Map(targets.map((t) => [t.address, t]));
    for (const [addr, c] of this.clients)
      if (!wanted.has(addr)) {
        c.client.disconnect();
        this.clients.delete(addr);
      }
    for (const [addr, target] of wanted) {
      const have = this.clients.get(addr);
      if (have && have.target.password === target.password) {
        have.target = target;
        continue;
      }
      have?.client.disconnect();
      const [host, port] = splitAddress(addr);
      const client = nameWhenReady(
        new Redis({
          host,
          port,
          password: target.password ?? this.opts.password,
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          connectTimeout: this.opts.timeoutMs,
          commandTimeout: this.opts.timeoutMs,
          enableReadyCheck: false,
          disableClientInfo: true, // and no connectionName: named once ready (common/redis-name.ts)
          retryStrategy: (n: number) => Math.min(100 * n, 2000),
        }),
        this.opts.connectionName ?? 'redis-fleet-agent',
      );
      const entry: { client: Redis; target: SamplerTarget; lastError?: string } = { client, target };
      client.on('error', (err: Error) => {
        entry.lastError = err.message;
      });
      this.clients.set(addr, entry);
    }
  }

  /** Every Sentinel sampled concurrently, each answering by `deadlineMs` or reported down; never throws. */
  async sample(deadlineMs = Number.POSITIVE_INFINITY): Promise<SentinelSample[]> {
    return Promise.all([...this.clients.values()].map((e) => this.one(e, deadlineMs)));
  }

  private async one(e: { client: Redis; target: SamplerTarget; lastError?: string }, deadlineMs: number): Promise<SentinelSample> {
    const startMs = Date.now();
    const ms = Math.max(1, Math.min(this.opts.timeoutMs, deadlineMs - startMs));
    const base = { address: e.target.address, discovered: e.target.discovered, sampledAtMs: startMs };
    const c = e.client;
    try {
      if (c.status === 'wait' || c.status === 'end') await withTimeout(c.connect(), ms, 'connect');
      const read = async (): Promise<SentinelSample> => {
        const [reply, info] = await Promise.all([c.call('SENTINEL', 'masters'), c.info('sentinel')]);
        const masters = [...parseMasters(reply).values()];
        const quorum = await Promise.all(
          masters.map((m) => (c.call('SENTINEL', 'CKQUORUM', m.name) as Promise<unknown>).catch((err: unknown) => err)),
        );
        return {
          ...base,
          up: true,
          error: '',
          sampledAtMs: Date.now(),
          tilt: /\bsentinel_tilt:1\b/.test(info),
          masters: masters.map((m, n): SentinelMasterState => {
            const q = parseCkquorum(quorum[n]);
            return {
              name: m.name,
              address: m.address,
              flags: m.flags.join(','),
              replicas: m.replicas,
              sentinels: m.otherSentinels + 1,
              quorum: m.quorum,
              quorumReachable: q.reachable,
              quorumDetail: q.detail,
              configEpoch: m.configEpoch,
            };
          }),
        };
      };
      const s = await withTimeout(read(), ms, 'SENTINEL masters');
      e.lastError = undefined;
      return s;
    } catch (err) {
      return { ...base, up: false, error: e.lastError && c.status !== 'ready' ? e.lastError : errorText(err), tilt: false, masters: [] };
    }
  }

  close(): void {
    for (const e of this.clients.values()) e.client.disconnect();
    this.clients.clear();
  }
}
