// The two fence mechanisms (fencing-and-forks.md A3, verified on Redis 7.0):
// - acl: every client-facing user loses @read and @write (NOPERM on existing connections too);
//   replication and Sentinel are untouched, so Sentinel sees nothing and fails nothing over.
// - replicaof: replica-serve-stale-data no + REPLICAOF to a port that can never answer
//   (MASTERDOWN / READONLY, which Sentinel-aware clients understand).
// Each mechanism records what restore needs into the intent, applies and verifies, tells
// whether a fence is still in place (a Redis restart drops it), and lifts it exactly.
import type { Redis } from 'ioredis';
import type { FenceMode } from './config.js';
import type { FenceIntent } from './intent.js';

/** An address no Redis can listen on: connect() to port 0 is refused on Linux. */
export const NOWHERE = { host: '127.0.0.1', port: 0 };

export interface FenceContext {
  client: Redis;
  /** Users never fenced (the agent's own). */
  exemptUsers: Set<string>;
  pubsub: boolean;
}

export interface FenceMechanism {
  readonly mode: FenceMode;
  /** Adds to `intent` what lifting needs, from the live (still unfenced) state. */
  prepare(ctx: FenceContext, intent: FenceIntent): Promise<void>;
  /** Applies and verifies; throws with what failed. */
  apply(ctx: FenceContext, intent: FenceIntent): Promise<void>;
  /** Why the fence is not fully in place, or null when it is. */
  gap(ctx: FenceContext, intent: FenceIntent): Promise<string | null>;
  /** Puts back exactly what `prepare` recorded. */
  lift(ctx: FenceContext, intent: FenceIntent, opts: { stillMaster: boolean }): Promise<void>;
}

/** `user alice on #… ~* (~x +get) +@all` → {name, rules: ['on', '#…', '~*', '(~x +get)', '+@all']} (selectors stay one token). */
export function parseAclLine(line: string): { name: string; rules: string[] } {
  const tokens: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of line.trim()) {
    if (ch === '(') depth++;
    if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ' ' && depth === 0) {
      if (cur) tokens.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur) tokens.push(cur);
  if (tokens[0] !== 'user' || tokens.length < 2) throw new Error(`unexpected ACL LIST line (${tokens[0] ?? ''} …)`);
  return { name: tokens[1]!, rules: tokens.slice(2) };
}

async function aclList(client: Redis): Promise<Map<string, string[]>> {
  const lines = (await client.call('ACL', 'LIST')) as string[];
  return new Map(
    lines.map((l) => {
      const p = parseAclLine(l);
      return [p.name, p.rules];
    }),
  );
}

async function canRun(client: Redis, user: string, ...cmd: string[]): Promise<boolean> {
  const r = await client.call('ACL', 'DRYRUN', user, ...cmd);
  return r === 'OK';
}

const PROBE_KEY = 'redis-fleet:guard:probe';

/** A user is fenced when it can neither read nor write. */
async function userFenced(client: Redis, user: string): Promise<boolean> {
  return !(await canRun(client, user, 'GET', PROBE_KEY)) && !(await canRun(client, user, 'SET', PROBE_KEY, '1'));
}

export const aclFence: FenceMechanism = {
  mode: 'acl',

  async prepare(ctx, intent) {
    const live = await aclList(ctx.client);
    const users = { ...(intent.users ?? {}) };
    for (const [name, rules] of live) {
      if (ctx.exemptUsers.has(name)) continue;
      // A user the guard fenced earlier keeps its recorded rules; one that is open again (a Redis
      // restart reloaded its aclfile, an operator added it) is recorded from what it is now.
      if (users[name] !== undefined && (await userFenced(ctx.client, name))) continue;
      users[name] = rules.join(' ');
    }
    intent.users = users;
  },

  async apply(ctx, intent) {
    const live = await aclList(ctx.client);
    const extra = ctx.pubsub ? ['-@pubsub'] : [];
    const targets = Object.keys(intent.users ?? {}).filter((u) => live.has(u));
    const p = ctx.client.pipeline();
    for (const u of targets) p.call('ACL', 'SETUSER', u, 'clearselectors', '-@read', '-@write', ...extra);
    const res = (await p.exec()) ?? [];
    const failed = res.find(([e]) => e);
    if (failed) throw new Error(`ACL SETUSER refused: ${(failed[0] as Error).message}`);
    for (const u of targets) {
      if (!(await userFenced(ctx.client, u))) throw new Error(`ACL DRYRUN: user ${u} can still read or write after the fence`);
    }
    // Clients blocked (BLPOP…) before the fence stay blocked; pooled ones must reconnect into NOPERM.
    await ctx.client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
  },

  async gap(ctx, intent) {
    const live = await aclList(ctx.client);
    for (const name of live.keys()) {
      if (ctx.exemptUsers.has(name)) continue;
      if (intent.users?.[name] === undefined) return `user ${name} is not covered by the fence`;
      if (!(await userFenced(ctx.client, name))) return `user ${name} can read or write again (Redis restarted, or its ACL was reloaded)`;
    }
    return null;
  },

  async lift(ctx, intent) {
    const live = await aclList(ctx.client);
    const p = ctx.client.pipeline();
    for (const [u, rules] of Object.entries(intent.users ?? {})) {
      if (!live.has(u)) continue;
      // Not `reset`: it also flips flags the fence never touched (sanitize-payload). The fence only
      // changed permissions and selectors, so those are rebuilt from the recorded rules.
      p.call('ACL', 'SETUSER', u, 'clearselectors', 'resetkeys', 'resetchannels', '-@all', ...parseAclLine(`user ${u} ${rules}`).rules);
    }
    const res = (await p.exec()) ?? [];
    const failed = res.find(([e]) => e);
    if (failed) throw new Error(`ACL SETUSER (restore) refused: ${(failed[0] as Error).message}`);
  },
};

async function configGet(client: Redis, key: string): Promise<string> {
  const r = (await client.call('CONFIG', 'GET', key)) as string[];
  if (!Array.isArray(r) || r.length < 2) throw new Error(`CONFIG GET ${key}: no value`);
  return String(r[1]);
}

/** ROLE → the master this instance replicates from ("host:port"), or null when it is a master. */
export async function replicatesFrom(client: Redis): Promise<{ master: string | null; linkUp: boolean }> {
  const r = (await client.call('ROLE')) as unknown[];
  if (r[0] === 'slave') return { master: `${String(r[1])}:${String(r[2])}`, linkUp: r[3] === 'connected' };
  return { master: null, linkUp: false };
}

export const replicaofFence: FenceMechanism = {
  mode: 'replicaof',

  async prepare(ctx, intent) {
    const { master } = await replicatesFrom(ctx.client);
    if (master === null || intent.staleData === undefined) {
      const v = await configGet(ctx.client, 'replica-serve-stale-data');
      if (master === null || v !== 'no') intent.staleData = v;
    }
  },

  async apply(ctx) {
    await ctx.client.call('CONFIG', 'SET', 'replica-serve-stale-data', 'no');
    await ctx.client.call('REPLICAOF', NOWHERE.host, String(NOWHERE.port));
    const { master } = await replicatesFrom(ctx.client);
    if (master !== `${NOWHERE.host}:${NOWHERE.port}`)
      throw new Error(`REPLICAOF ${NOWHERE.host} ${NOWHERE.port} did not take (replicates from ${master ?? 'nobody'})`);
  },

  async gap(ctx) {
    const { master } = await replicatesFrom(ctx.client);
    if (master === null) return 'the instance is a master again (Redis restarted?)';
    if ((await configGet(ctx.client, 'replica-serve-stale-data')) !== 'no') return 'replica-serve-stale-data is yes again';
    return null;
  },

  async lift(ctx, intent, { stillMaster }) {
    if (stillMaster) await ctx.client.call('REPLICAOF', 'NO', 'ONE');
    await ctx.client.call('CONFIG', 'SET', 'replica-serve-stale-data', intent.staleData ?? 'yes');
  },
};

export const FENCES: Readonly<Record<FenceMode, FenceMechanism>> = { acl: aclFence, replicaof: replicaofFence };
