// The Sentinel event watcher against real Sentinels: one that is down when the watcher starts
// (a boot race) is subscribed once it is up, and its events arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SENTINEL_CHANNELS, SentinelWatch, type SentinelEvent } from '../sentinel/index.js';
import { harness, waitFor } from './harness/index.js';

const NAME = 'redis-fleet-watch-test';

test('sentinel watch: a Sentinel down when the watch starts is subscribed once it comes up, and its events arrive', async (t) => {
  const h = await harness(t);
  const master = await h.redis();
  const [sentinel] = await h.sentinels(1, [{ name: 'm', master, downAfterMs: 1000 }]);
  await sentinel!.stop();

  const events: SentinelEvent[] = [];
  const watch = new SentinelWatch([sentinel!.address], { connectionName: NAME, onEvent: (e) => events.push(e) });
  t.after(() => watch.stop());
  await watch.start(); // its first connection is refused
  await sentinel!.restart();

  // The watcher's connection on the Sentinel, subscribed to every channel it asks for.
  await waitFor(
    async () => {
      const list = String(await sentinel!.call('CLIENT', 'LIST'));
      return list.split('\n').some((l) => l.includes(`name=${NAME} `) && l.includes(` sub=${SENTINEL_CHANNELS.length} `));
    },
    { what: 'the watcher subscribed on the restarted Sentinel', timeoutMs: 15_000 },
  );
  master.pause(); // the harness kills it paused at the end
  const sdown = await waitFor(() => events.find((e) => e.channel === '+sdown' && e.sentinel === sentinel!.address), {
    what: "the Sentinel's +sdown",
    timeoutMs: 15_000,
  });
  assert.match(sdown.payload, /^master m /);
});
