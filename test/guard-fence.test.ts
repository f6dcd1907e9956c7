// The two fence mechanisms against a real Redis 7: what clients see, that replication goes on,
// that the gap check notices a lost fence, and that lifting restores exactly what was there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { harness, waitFor } from './harness/index.js';
import { FENCES } from '../sentinel-guard/fence.js';
import type { FenceIntent } from '../sentinel-guard/intent.js';
import { outcome, waitNoperm } from './guard-support.js';

const users = [
  { name: 'app', password: 'app-pw', rules: '~* &* +@all' },
  { name: 'narrow', password: 'narrow-pw', rules: 'resetchannels ~n:* -@all +get (~s:* +set +get)' },
  { name: 'fleet', password: 'fleet-pw', rules: '~* &* +@all' },
];

test('acl fence: NOPERM for every client user incl. selectors, replication continues, gap seen after a Redis restart, exact lift', async (t) => {
  const h = await harness(t);
  const master = await h.redis({ password: 'pw', aclUsers: users, args: ['--masterauth', 'pw'] });
  const replica = await h.redisReplica(master, { aclUsers: users });
  const guardClient = h.trackClient(new Redis({ host: master.host, port: master.port, username: 'fleet', password: 'fleet-pw' }));
  guardClient.on('error', () => {
    /* the test restarts Redis */
  });
  const app = master.client({ username: 'app', password: 'app-pw', maxRetriesPerRequest: 0 });
  const narrow = master.client({ username: 'narrow', password: 'narrow-pw', maxRetriesPerRequest: 0 });
  assert.equal(await narrow.set('s:1', 'v'), 'OK');
  const blocked = h.trackClient(app.duplicate());
  blocked.on('error', () => {
    /* killed by the fence on purpose */
  });
  const blockedPop = outcome(blocked.blpop('queue', 0));
  await waitFor(async () => /blocked_clients:1/.test((await master.call('INFO', 'clients')) as string), {
    what: 'a client blocked in BLPOP',
  });
  const before = await master.call('ACL', 'LIST');

  const ctx = { client: guardClient, exemptUsers: new Set(['fleet']), pubsub: false };
  const intent: FenceIntent = { address: master.address, mode: 'acl', fencedAtMs: Date.now(), reason: 'test' };
  await FENCES.acl.prepare(ctx, intent);
  assert.deepEqual(Object.keys(intent.users!).sort(), ['app', 'default', 'narrow']);
  await FENCES.acl.apply(ctx, intent);

  // CLIENT KILL dropped the open connections: the first command after the reconnect gets NOPERM.
  await waitNoperm(app, 'the app connection to reconnect into NOPERM');
  assert.match(await outcome(app.set('k', 'v')), /^NOPERM/);
  await waitFor(async () => (await outcome(narrow.get('s:1'))).startsWith('NOPERM'), { what: 'the selector no longer granting reads' });
  assert.match(await outcome(app.eval("return redis.call('get', 'k')", 0)), /can't run this command|NOPERM/);
  // The blocked BLPOP was killed out of its wait instead of being served by a later write.
  assert.notEqual(await blockedPop, 'OK:queue,x');
  assert.equal(await FENCES.acl.gap(ctx, intent), null);
  await guardClient.set('replicated', '1');
  await waitFor(async () => (await replica.call('GET', 'replicated')) === '1', { what: 'replication through the fence' });

  await master.restart();
  await waitFor(async () => (await outcome(guardClient.ping())) === 'OK:PONG', { what: 'the guard connection back' });
  assert.match(String(await FENCES.acl.gap(ctx, intent)), /can read or write again/);
  await FENCES.acl.prepare(ctx, intent);
  await FENCES.acl.apply(ctx, intent);
  assert.equal(await FENCES.acl.gap(ctx, intent), null);

  await FENCES.acl.lift(ctx, intent, { stillMaster: true });
  // Redis 7.0 may print a re-applied selector's commands in another order (same permissions).
  const canonical = (lines: unknown) =>
    (lines as string[]).map((l) => l.replace(/\(([^)]*)\)/g, (_, inner: string) => `(${inner.split(' ').sort().join(' ')})`));
  assert.deepEqual(canonical(await master.call('ACL', 'LIST')), canonical(before));
  await waitFor(async () => (await outcome(narrow.get('s:1'))) === 'OK:v', { what: 'the narrow user reading again' });
  assert.match(await outcome(narrow.get('other')), /^NOPERM/, 'the narrow user is as narrow as before');
});

test('replicaof fence: MASTERDOWN for reads, READONLY for writes, its replica stays attached, lift back to master', async (t) => {
  const h = await harness(t);
  const master = await h.redis({ password: 'pw' });
  const replica = await h.redisReplica(master);
  const guardClient = h.trackClient(new Redis({ host: master.host, port: master.port, password: 'pw' }));
  guardClient.on('error', () => {
    /* closed with the harness */
  });
  const app = master.client({ maxRetriesPerRequest: 0 });
  await app.set('k', 'v');
  const ctx = { client: guardClient, exemptUsers: new Set<string>(), pubsub: false };
  const intent: FenceIntent = { address: master.address, mode: 'replicaof', fencedAtMs: Date.now(), reason: 'test' };
  await FENCES.replicaof.prepare(ctx, intent);
  assert.equal(intent.staleData, 'yes');
  await FENCES.replicaof.apply(ctx, intent);
  assert.match(await outcome(app.get('k')), /^MASTERDOWN/);
  assert.match(await outcome(app.set('k', 'x')), /^READONLY/);
  assert.equal(await FENCES.replicaof.gap(ctx, intent), null);
  assert.equal((await replica.info('replication')).master_link_status, 'up');

  await FENCES.replicaof.lift(ctx, intent, { stillMaster: true });
  assert.equal(await app.set('k', 'after'), 'OK');
  assert.equal(String(((await master.call('CONFIG', 'GET', 'replica-serve-stale-data')) as string[])[1]), 'yes');
  await waitFor(async () => (await replica.call('GET', 'k')) === 'after', { what: 'the replica to follow again (partial resync)' });
});
