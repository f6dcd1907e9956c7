// The twemproxy adapter against a real nutcracker 0.5.0 in front of real redis-servers:
// traffic counted per server and rated between polls, the stats-interval guard, a killed
// backend ejected and reported, and a recovered one leaving the ring state again; the agent's
// proxies input dropping a nutcracker that is down.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { TwemproxyPoller, parseNutcrackerConfig, pollTwemproxy, type TwemproxyPoll } from '../proxy/index.js';
import { valueOf, type ProxyItem, type ProxySample } from '../proto/index.js';
import { Accumulator, ProxiesInput, Targets } from '../agent/index.js';
import { harness, parseInfo, waitFor, type NutcrackerServer, type RedisServer } from './harness/index.js';
import { agentConfig, memoryLogger } from './agent-support.js';

const STATS_INTERVAL_MS = 300;

const num = (it: ProxySample | ProxyItem, k: string): number => {
  const v = valueOf(it.fields[k]);
  assert.equal(typeof v, 'number', `${k} is a number field`);
  return v as number;
};
const itemOf = (s: ProxySample, kind: string, tags: Record<string, string>): ProxyItem => {
  const it = s.items.find((i) => i.kind === kind && Object.entries(tags).every(([k, v]) => i.tags[k] === v));
  assert.ok(it, `${kind} ${JSON.stringify(tags)} in ${JSON.stringify(s.items.map((i) => i.tags))}`);
  return it;
};
const server = (s: ProxySample, name: string) => itemOf(s, 'server', { pool: 'main', server: name });
const pool = (s: ProxySample) => itemOf(s, 'pool', { pool: 'main' });

function pollerFor(nut: NutcrackerServer): TwemproxyPoller {
  return new TwemproxyPoller({
    address: nut.statsAddress,
    statsIntervalMs: STATS_INTERVAL_MS,
    timeoutMs: 2000,
    pools: parseNutcrackerConfig(fs.readFileSync(nut.configPath, 'utf8')),
  });
}

/** Polls until a fresh sample satisfies `ok` (reads are rate-limited by the poller itself). */
function freshUntil(
  poller: TwemproxyPoller,
  ok: (p: TwemproxyPoll) => boolean,
  what: string,
  drive?: () => Promise<void>,
  timeoutMs = 15_000,
): Promise<TwemproxyPoll> {
  return waitFor(
    async () => {
      if (drive) await drive();
      const p = await poller.poll();
      return p.fresh && p.sample.up && ok(p) ? p : undefined;
    },
    { what, intervalMs: 50, timeoutMs },
  );
}

async function setCalls(r: RedisServer): Promise<number> {
  const stats = parseInfo(String(await r.call('INFO', 'commandstats')));
  return Number(/calls=(\d+)/.exec(stats.cmdstat_set ?? '')?.[1] ?? 0);
}

test('real nutcracker: per-server counters match the backends, rates between polls, reads no faster than the stats interval', async (t) => {
  const h = await harness(t);
  const a = await h.redis();
  const b = await h.redis();
  const nut = await h.nutcracker({
    pools: {
      main: {
        servers: [
          { server: a, name: 'a' },
          { server: b, name: 'b' },
        ],
      },
    },
    statsIntervalMs: STATS_INTERVAL_MS,
  });
  const poller = pollerFor(nut);

  const first = await poller.poll();
  assert.equal(first.sample.error, '');
  assert.deepEqual([first.fresh, num(first.sample, 'rates_valid')], [true, 0]);
  assert.equal(valueOf(first.sample.fields.version), '0.5.0');
  assert.equal(valueOf(server(first.sample, 'a').fields.address), a.address);
  assert.equal(valueOf(server(first.sample, 'b').fields.address), b.address);
  const requestsBefore = num(pool(first.sample), 'requests');

  const early = await poller.poll();
  assert.equal(early.fresh, false, 'a second read inside the stats interval is refused');
  assert.ok(early.nextReadInMs > 0 && early.nextReadInMs <= STATS_INTERVAL_MS, `next read in ${early.nextReadInMs} ms`);
  assert.deepEqual(early.sample.fields, first.sample.fields, 'the previous sample is handed back');

  const client = nut.client('main');
  const N = 300;
  await Promise.all(Array.from({ length: N }, (_, i) => client.set(`key:${i}`, 'x'.repeat(10))));

  const after = await freshUntil(poller, (p) => num(pool(p.sample), 'requests') >= requestsBefore + N, 'nutcracker to aggregate the SETs');
  const s = after.sample;
  // Each server's request count is what its backend executed.
  assert.equal(num(server(s, 'a'), 'requests'), await setCalls(a));
  assert.equal(num(server(s, 'b'), 'requests'), await setCalls(b));
  assert.equal(num(pool(s), 'requests'), requestsBefore + N);
  assert.ok(num(server(s, 'a'), 'requests') > 0 && num(server(s, 'b'), 'requests') > 0, 'keys hash to both servers');
  assert.equal(num(pool(s), 'responses'), num(pool(s), 'requests'));
  assert.ok(num(s, 'total_connections') >= 1);

  // Rates against the previous fresh read, over the interval the poller measured.
  assert.equal(num(s, 'rates_valid'), 1);
  const rates = after.rates!;
  assert.ok(rates.seconds * 1000 >= STATS_INTERVAL_MS, `reads ${rates.seconds * 1000} ms apart`);
  assert.ok(num(pool(s), 'requests_per_sec') > 0);
  assert.ok(num(pool(s), 'request_bytes_per_sec') > 0);
  assert.equal(num(pool(s), 'errors_per_sec'), 0);
  assert.equal(num(s, 'servers_ejected'), 0);
  // The proxy-wide rate is the sum of the server rates.
  assert.ok(
    Math.abs(num(s, 'requests_per_sec') - num(server(s, 'a'), 'requests_per_sec') - num(server(s, 'b'), 'requests_per_sec')) < 1e-9,
  );

  // Stopping the proxy: an error sample, the process keeps going.
  await nut.kill();
  const down = await waitFor(
    async () => {
      const p = await poller.poll();
      return p.fresh && !p.sample.up ? p : undefined;
    },
    { what: 'a failed read' },
  );
  assert.equal(down.sample.error, `stats ${nut.statsAddress}: connect ECONNREFUSED ${nut.statsAddress}`);
  assert.deepEqual([down.sample.kind, down.sample.fields, down.sample.items], ['twemproxy', {}, []]);
});

test('real nutcracker: a killed backend is ejected and reported with its timestamp; traffic moves to the survivor', async (t) => {
  const h = await harness(t);
  const a = await h.redis();
  const b = await h.redis();
  const nut = await h.nutcracker({
    pools: {
      main: {
        servers: [
          { server: a, name: 'a' },
          { server: b, name: 'b' },
        ],
        autoEjectHosts: true,
        serverFailureLimit: 1,
        serverRetryTimeout: 60_000,
      },
    },
    statsIntervalMs: STATS_INTERVAL_MS,
  });
  const poller = pollerFor(nut);
  const client = nut.client('main', { maxRetriesPerRequest: 0 });
  await Promise.all(Array.from({ length: 50 }, (_, i) => client.set(`k${i}`, 'v')));
  const healthy = await freshUntil(poller, (p) => num(pool(p.sample), 'requests') >= 50, 'the healthy baseline');
  assert.equal(num(server(healthy.sample, 'b'), 'ejected'), 0);

  const killedAt = Date.now();
  await b.kill();
  let i = 0;
  const drive = async () => {
    // Keys of both servers; a failed request is how nutcracker notices, so errors are expected.
    await Promise.all(Array.from({ length: 20 }, () => client.get(`k${i++ % 50}`).catch(() => undefined)));
  };
  const ejected = await freshUntil(poller, (p) => num(server(p.sample, 'b'), 'ejected') === 1, 'nutcracker to eject b', drive);
  const s = ejected.sample;
  const at = num(server(s, 'b'), 'ejected_at_ms');
  assert.ok(at >= killedAt - 1000 && at <= Date.now(), `ejected_at_ms ${at} is after the kill at ${killedAt}`);
  assert.equal(num(server(s, 'a'), 'ejected'), 0);
  assert.deepEqual([num(s, 'servers_ejected'), num(pool(s), 'servers_ejected')], [1, 1]);
  assert.ok(num(pool(s), 'server_ejects') >= 1);
  // First sample that shows it: rated against one where b was still in the ring.
  assert.equal(num(s, 'rates_valid'), 1);
  assert.equal(num(server(s, 'b'), 'newly_ejected'), 1);
  assert.ok(num(pool(s), 'server_ejects_per_sec') > 0);

  // b's keys now go to a.
  assert.equal(await client.set('moved', '1'), 'OK');
  assert.equal(await a.call('GET', 'moved'), '1');
});

test('real nutcracker: after the retry timeout a recovered backend is back in the ring, though 0.5.0 keeps the stamp', async (t) => {
  const h = await harness(t);
  const a = await h.redis();
  const b = await h.redis();
  const nut = await h.nutcracker({
    pools: {
      main: {
        servers: [
          { server: a, name: 'a' },
          { server: b, name: 'b' },
        ],
        autoEjectHosts: true,
        serverFailureLimit: 1,
        serverRetryTimeout: 1500,
      },
    },
    statsIntervalMs: STATS_INTERVAL_MS,
  });
  const poller = pollerFor(nut);
  const client = nut.client('main', { maxRetriesPerRequest: 0 });
  let i = 0;
  const drive = async () => {
    await Promise.all(Array.from({ length: 20 }, () => client.set(`k${i++ % 100}`, 'v').catch(() => undefined)));
  };

  await b.kill();
  const hit = await freshUntil(poller, (p) => num(server(p.sample, 'b'), 'ejected_at_ms') > 0, 'b to be ejected', drive);
  const requestsAtEjection = num(server(hit.sample, 'b'), 'requests');

  await b.restart({ save: false });
  const back = await freshUntil(
    poller,
    (p) => num(server(p.sample, 'b'), 'ejected') === 0 && num(server(p.sample, 'b'), 'requests') > requestsAtEjection + 5,
    'b to serve requests again',
    drive,
    30_000,
  );
  const stamp = num(server(back.sample, 'b'), 'ejected_at_ms');
  assert.ok(stamp > 0, 'nutcracker 0.5.0 never clears server_ejected_at');
  assert.equal(num(back.sample, 'servers_ejected'), 0);
  assert.ok((await setCalls(b)) > 0, 'the restarted backend executes SETs again');

  // Without the pool config the adapter can only say "ejected at some point": still 1.
  const sticky = await pollTwemproxy({ address: nut.statsAddress, timeoutMs: 2000 });
  assert.equal(num(server(sticky, 'b'), 'ejected'), 1);
  assert.equal(num(server(sticky, 'b'), 'ejected_at_ms'), stamp);
});

test('agent proxies input: a nutcracker dropped from the targets while down gets its proxy.up for the same instance', async (t) => {
  const h = await harness(t);
  const backend = await h.redis();
  const nut = await h.nutcracker({ pools: { main: { servers: [backend] } }, statsIntervalMs: STATS_INTERVAL_MS });
  const targets = new Targets([], []);
  const found = {
    kind: 'twemproxy',
    statsAddress: nut.statsAddress,
    name: '',
    statsIntervalMs: STATS_INTERVAL_MS,
    timeoutMs: 2000,
  } as const;
  targets.setDiscovered([], [found]);
  const log = memoryLogger();
  const input = new ProxiesInput({ config: agentConfig({}), logger: log.logger, targets });
  const gather = async (): Promise<Accumulator> => {
    const acc = new Accumulator(Date.now());
    await input.gather(acc);
    return acc;
  };
  await waitFor(async () => (await gather()).proxies.some((s) => s.up), { what: 'an up sample of the nutcracker' });

  await nut.stop();
  const down = await waitFor(async () => (await gather()).events.find((e) => e.kind === 'proxy.down'), { what: 'proxy.down' });
  assert.equal(down.instance, nut.statsAddress);

  // A rescan no longer finds it: the collector resolves ProxyDown on a proxy.up naming the same instance.
  targets.setDiscovered([], []);
  const acc = await gather();
  assert.deepEqual(acc.proxies, []);
  assert.deepEqual(
    acc.events.map((e) => [e.kind, e.instance, e.message, e.attrs.kind, e.attrs.sampled]),
    [['proxy.up', nut.statsAddress, 'proxy no longer sampled', 'twemproxy', 'false']],
  );
  assert.ok(Number(acc.events[0]!.attrs.downMs) >= 0);
  assert.equal(log.count('proxy no longer sampled while not answering'), 1);

  // Found again, still down: a new proxy.down (and a later proxy.up resolves that one).
  targets.setDiscovered([], [found]);
  await waitFor(async () => (await gather()).events.some((e) => e.kind === 'proxy.down'), { what: 'proxy.down after the rediscovery' });
});
