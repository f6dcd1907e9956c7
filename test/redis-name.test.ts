// common/redis-name.ts against a real Redis behind a relay that closes connections: a connection
// closed during its set-up (Sentinel's CLIENT KILL at that moment) is reopened, and every
// connection is named. With ioredis's own `connectionName`, such a client stays "ready" on a dead
// socket and never reconnects (https://github.com/redis/ioredis/issues/2099).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { nameWhenReady } from '../common/index.js';
import { harness, waitFor } from './harness/index.js';

test('nameWhenReady: connections closed as they open are reopened and named; commands work again', async (t) => {
  const h = await harness(t);
  const server = await h.redis();
  const link = await h.relay(server);
  // The options the agent, the guard and the Sentinel sampler use.
  const client = h.trackClient(
    nameWhenReady(
      new Redis({
        host: link.host,
        port: link.port,
        lazyConnect: true,
        enableOfflineQueue: false,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        disableClientInfo: true,
        retryStrategy: () => 50,
      }),
      'fleet-test',
    ),
  );
  client.on('error', () => {
    /* the relay closes connections on purpose */
  });
  await client.connect();
  const named = async () => String(await server.call('CLIENT', 'LIST')).includes('name=fleet-test');
  await waitFor(named, { what: 'the first connection named' });
  // The open connection, then the next three as soon as they send anything (their name).
  link.reset(3);
  const answered = await waitFor(async () => ((await client.ping().catch(() => '')) === 'PONG' ? true : undefined), {
    intervalMs: 20,
    what: 'a command answered after the resets',
  });
  assert.equal(answered, true);
  assert.equal(link.resets, 4);
  assert.equal(client.status, 'ready');
  await waitFor(named, { what: 'the reopened connection named' });
});
