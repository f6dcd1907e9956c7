// Shared setup for the sentinel-guard tests: a real ZooKeeper with the Codis group znode, a master
// with one replica (ACL users: `app` for clients, `fleet` for the agent), three Sentinels, a
// collector and an agent with `guard.enabled`. Optionally the agent reaches ZooKeeper and the
// Sentinels only through TcpRelays, the links a test can cut.
import type { TestContext } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import type { Redis } from 'ioredis';
import {
  harness,
  waitFor,
  type AgentProcess,
  type CollectorProcess,
  type Harness,
  type RedisServer,
  type SentinelServer,
  type TcpRelay,
  type ZooKeeperServer,
} from './harness/index.js';

export const APP = { name: 'app', password: 'app-secret-pw' };
export const FLEET = { name: 'fleet', password: 'fleet-secret-pw' };
export const DOWN_AFTER_MS = 3000;
export const PRODUCT = 'demo';
export const GROUP_ZNODE = `/codis3/${PRODUCT}/group/group-0001`;

export interface GuardedSetup {
  h: Harness;
  zk: ZooKeeperServer;
  master: RedisServer;
  replica: RedisServer;
  sentinels: SentinelServer[];
  collector: CollectorProcess;
  agent: AgentProcess;
  stateDir: string;
  /** Present with `relays: true`: [zookeeper, ...sentinels]. */
  relays: TcpRelay[];
  /** An app-user client of `server` (tracked; no retries so errors surface at once). */
  app(server: RedisServer): Redis;
  guardConfig: Record<string, unknown>;
}

const users = [
  { name: APP.name, password: APP.password, rules: '~* &* +@all' },
  { name: FLEET.name, password: FLEET.password, rules: '~* &* +@all' },
];

/** Writes the Codis group model (first server is the master) to ZooKeeper. */
export async function setGroupZnode(zk: ZooKeeperServer, servers: string[]): Promise<void> {
  const client = zookeeper.createClient(zk.connectString, { sessionTimeout: 6000, retries: 0 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ZooKeeper connect timeout')), 20_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  try {
    const data = Buffer.from(
      JSON.stringify({
        id: 1,
        servers: servers.map((s) => ({ server: s, datacenter: '', action: {}, replica_group: false })),
        promoting: {},
        out_of_sync: false,
      }),
    );
    await new Promise<void>((resolve, reject) => client.mkdirp(GROUP_ZNODE, Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => client.setData(GROUP_ZNODE, data, (err) => (err ? reject(err) : resolve())));
  } finally {
    client.close();
  }
}

export async function guardedSetup(
  t: TestContext,
  opts: {
    relays?: boolean;
    hostId: string;
    guard?: Record<string, unknown>;
    sentinelName?: boolean;
    /** guard.sentinels.downAfter when it should differ from what the Sentinels really run. */
    claimedDownAfterMs?: number;
  } = { hostId: 'guard' },
): Promise<GuardedSetup> {
  const h = await harness(t);
  const [zk, master] = await Promise.all([
    h.zookeeper(),
    h.redis({ password: 'default-pw', aclUsers: users, args: ['--masterauth', 'default-pw'] }),
  ]);
  const replica = await h.redisReplica(master, { aclUsers: users });
  const sentinels = await h.sentinels(3, [{ name: 'g1', master, downAfterMs: DOWN_AFTER_MS, failoverTimeoutMs: 6000 }]);
  await setGroupZnode(zk, [master.address, replica.address]);
  const relays: TcpRelay[] = [];
  if (opts.relays) {
    relays.push(await h.relay({ host: zk.host, port: zk.port }));
    for (const s of sentinels) relays.push(await h.relay({ host: s.host, port: s.port }));
  }
  const collector = await h.collector();
  const stateDir = await h.tempDir('guard-state');
  const guardConfig = {
    enabled: true,
    stateDir,
    zookeeper: {
      servers: opts.relays ? relays[0]!.address : zk.connectString,
      probeInterval: '250ms',
      probeTimeout: '250ms',
      failures: 3,
      sessionTimeout: '4s',
    },
    sentinels: {
      addresses: opts.relays ? relays.slice(1).map((r) => r.address) : sentinels.map((s) => s.address),
      timeout: '250ms',
      downAfter: opts.claimedDownAfterMs ?? DOWN_AFTER_MS,
    },
    fence: { timeout: '500ms' },
    hysteresis: '1s',
    margin: '500ms',
    ...opts.guard,
  };

  const agent = await h.agent(
    {
      hostId: opts.hostId,
      interval: '500ms',
      redis: [
        {
          address: master.address,
          user: FLEET.name,
          password: FLEET.password,
          cluster: PRODUCT,
          group: '1',
          ...(opts.sentinelName ? { guard: { sentinelName: 'g1' } } : {}),
        },
      ],
      guard: guardConfig,
    },
    { collector },
  );
  const app = (server: RedisServer) =>
    server.client({ username: APP.name, password: APP.password, maxRetriesPerRequest: 0, commandTimeout: 500, retryStrategy: () => 20 });
  return { h, zk, master, replica, sentinels, collector, agent, stateDir, relays, app, guardConfig };
}

export interface GuardInstanceView {
  address: string;
  phase: string;
  fenced: boolean;
  fence: { since: string; reason: string; mode: string } | null;
  waitingFor: string | null;
  sentinelName: string | null;
}
export interface GuardHostView {
  host: string;
  zookeeper: { state: string; consecutiveFailures: number };
  sentinels: { total: number; answeredLastRound: number | null };
  loops: number;
  instances: GuardInstanceView[];
}

export async function guardView(c: CollectorProcess, host: string): Promise<GuardHostView | undefined> {
  const r = await c.api<{ hosts: GuardHostView[] }>(`/api/v1/guard?host=${encodeURIComponent(host)}`);
  return r.hosts[0];
}

export interface StoredEvent {
  tags: Record<string, string>;
  fields: { message: string; attrs: string };
  time: number;
}

export async function events(c: CollectorProcess, host: string, kind: string): Promise<StoredEvent[]> {
  const q = new URLSearchParams({ measurement: 'event', host, kind, limit: '1000' });
  return (await c.api<{ points: StoredEvent[] }>(`/api/v1/query?${q}`)).points;
}

/** The command's error text, or 'OK:<reply>' when it succeeded. */
export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    return `OK:${String(await p)}`;
  } catch (err) {
    return (err as Error).message;
  }
}

export async function waitNoperm(client: Redis, what: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await outcome(client.get('k'))).startsWith('NOPERM'), { timeoutMs, intervalMs: 20, what });
}

/** Runs `fn`; a failure carries the guard's view and the agent's last log lines (what it waited for). */
export async function explained<T>(s: Pick<GuardedSetup, 'collector' | 'agent'>, host: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const view = await guardView(s.collector, host).catch((e: Error) => e.message);
    (err as Error).message += `\nguard view: ${JSON.stringify(view)}\nagent log:\n${s.agent.tail(15)}`;
    throw err;
  }
}
