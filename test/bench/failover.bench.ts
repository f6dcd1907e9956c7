// Failover page latency (npm run bench -- failover): a real master SIGSTOPped under three real
// Sentinels, two agents at the default 10 s interval watching them (`sentinels[]`), the real
// collector and a real HTTP receiver. Per failover: time from Sentinel's +switch-master (as a
// subscriber of our own sees it) to the RedisFailover notification, and — in the same run — to
// the notification of the old rule (SentinelSwitchMaster: an event rule on
// `sentinel.+switch-master`, the event sentinel-guard forwarded; loaded here from a rule file, with
// resolveAfter 15s instead of 30m so that failing back to an earlier master pages again).
import fs from 'node:fs/promises';
import path from 'node:path';
import { harness, waitFor, type RedisServer } from '../harness/index.js';
import { percentile, table, webhookReceiver } from './lib.js';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const INTERVAL_S = Number(process.env.BENCH_INTERVAL_S ?? 10);

const { url, got, close } = await webhookReceiver();

const h = await harness();
try {
  const a = await h.redis();
  const b = await h.redisReplica(a);
  const sentinels = await h.sentinels(3, [{ name: 'g1', master: a, downAfterMs: 1000, failoverTimeoutMs: 5000 }]);
  const rules = path.join(await h.tempDir('rules'), 'old.yaml');
  await fs.writeFile(
    rules,
    'rules:\n  - name: SentinelSwitchMaster\n    event: sentinel.+switch-master\n    resolveAfter: 15s\n    labels: { severity: page }\n',
  );
  // groupInterval 1s: every failover is a new alert in the same alertname group; the default 30 s
  // would hold the second failover's page back (Alertmanager's group_interval).
  const collector = await h.collector({
    alerting: { ruleFiles: [rules], route: { receiver: 'ops', groupInterval: '1s' }, receivers: [{ name: 'ops', webhook: [{ url }] }] },
  });
  const common = { interval: `${INTERVAL_S}s`, discovery: { enabled: false }, sentinels: sentinels.map((s) => ({ address: s.address })) };
  await h.agent({ ...common, hostId: 'bench-f1', redis: [{ address: a.address, cluster: 'c1', group: 'g1' }] }, { collector });
  await h.agent({ ...common, hostId: 'bench-f2', redis: [{ address: b.address, cluster: 'c1', group: 'g1' }] }, { collector });
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.length === 2, {
    timeoutMs: 60_000,
    what: 'first reports',
  });

  const sub = sentinels[0]!.client();
  const switches: number[] = [];
  sub.on('message', () => switches.push(Date.now()));
  await sub.subscribe('+switch-master');

  const fresh = [] as number[];
  const old = [] as number[];
  let master: RedisServer = a;
  let replica: RedisServer = b;
  const firstFiring = (name: string, from: number) =>
    got
      .slice(from)
      .find((g) => g.body.status === 'firing' && g.body.alerts.some((x: any) => x.labels.alertname === name && x.status === 'firing'));
  for (let i = 0; i < TRIALS; i++) {
    await new Promise((r) => setTimeout(r, Math.random() * INTERVAL_S * 1000));
    const before = got.length;
    const nSwitch = switches.length;
    master.pause();
    await waitFor(() => switches.length > nSwitch, { timeoutMs: 60_000, intervalMs: 10, what: '+switch-master' });
    const t0 = switches[nSwitch]!;
    const n1 = await waitFor(() => firstFiring('RedisFailover', before), {
      timeoutMs: 60_000,
      intervalMs: 10,
      what: 'RedisFailover',
    }).catch(async (err: Error) => {
      console.log(
        JSON.stringify(
          {
            failovers: await collector.api('/api/v1/failovers'),
            alerts: await collector.api('/api/v1/alerts'),
            got: got.slice(before).map((g) => g.body.alerts.map((x: any) => [x.status, x.labels])),
          },
          null,
          1,
        ),
      );
      throw err;
    });
    const n2 = await waitFor(() => firstFiring('SentinelSwitchMaster', before), {
      timeoutMs: 60_000,
      intervalMs: 10,
      what: 'SentinelSwitchMaster',
    });
    fresh.push(n1.at - t0);
    old.push(n2.at - t0);
    console.log(
      `failover ${i + 1}: ${master.address} → ${replica.address}: RedisFailover ${n1.at - t0} ms, SentinelSwitchMaster ${n2.at - t0} ms`,
    );
    // The old master back, converted by Sentinel into a replica of the new one, synced: the next trial fails back.
    master.resume();
    const back = master;
    await waitFor(async () => (await back.info('replication')).master_link_status === 'up', {
      timeoutMs: 60_000,
      what: 'the old master resynced as a replica',
    });
    [master, replica] = [replica, master];
  }
  const failovers = (await collector.api('/api/v1/failovers')).failovers as any[];
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
  console.log(
    `${TRIALS} failovers, ${failovers.length} in GET /api/v1/failovers, seen by ${failovers.map((f) => f.seenBy.length).join('/')} agents; ` +
      `RedisFailover notifications: ${got.filter((g) => g.body.status === 'firing' && g.body.alerts.some((x: any) => x.labels.alertname === 'RedisFailover' && x.status === 'firing')).length}`,
  );
  console.log(
    table([
      ['path', 'median', 'p90', 'max', 'how'],
      [
        'RedisFailover (collector fold)',
        s(percentile(sorted(fresh), 50)),
        s(percentile(sorted(fresh), 90)),
        s(Math.max(...fresh)),
        'measured: +switch-master → webhook received',
      ],
      [
        'SentinelSwitchMaster (agent event rule)',
        s(percentile(sorted(old), 50)),
        s(percentile(sorted(old), 90)),
        s(Math.max(...old)),
        'measured in the same run',
      ],
      ['target', '—', '—', s(INTERVAL_S * 1000 + 2000), 'one interval + 2 s'],
    ]),
  );
} finally {
  await h.close();
  close();
}
