// Alert latency (npm run bench -- alert-latency): time from a condition appearing on a real
// instance (redis-server stopped) to the notification arriving at a real HTTP receiver, with
// the default 10 s sampling and the built-in RedisInstanceDown (for: 0) and the default route
// (groupWait 1s). Measured here, trial by trial, at a random phase of the sampling interval.
// Next to it, what Prometheus + Alertmanager need with their defaults, computed from their
// documented timers (no Prometheus binary on this machine to measure).
import { harness, waitFor } from '../harness/index.js';
import { percentile, table, webhookReceiver } from './lib.js';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const INTERVAL_S = 10;

const { url, got, close } = await webhookReceiver();

const h = await harness();
try {
  const redis = await h.redis();
  const collector = await h.collector({ alerting: { receivers: [{ name: 'ops', webhook: [{ url }] }] } });
  await h.agent({ hostId: 'bench-alert', interval: `${INTERVAL_S}s`, redis: [{ address: redis.address }] }, { collector });
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.length === 1, { timeoutMs: 30_000, what: 'first report' });
  const latencies: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    await new Promise((r) => setTimeout(r, Math.random() * INTERVAL_S * 1000));
    const before = got.length;
    const t0 = Date.now();
    await redis.kill('SIGKILL');
    const n = await waitFor(() => got.slice(before).find((g) => g.body.status === 'firing'), {
      timeoutMs: 60_000,
      intervalMs: 10,
      what: 'firing notification',
    });
    latencies.push(n.at - t0);
    await redis.restart({ save: false });
    await waitFor(() => got.slice(before).some((g) => g.body.status === 'resolved'), { timeoutMs: 60_000, what: 'resolved notification' });
  }
  latencies.sort((a, b) => a - b);
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(`redis-fleet, ${TRIALS} trials, sampling ${INTERVAL_S}s: ${latencies.map(s).join(', ')}`);
  // Prometheus + Alertmanager defaults: scrape_interval 1m (15s typical), evaluation_interval 1m
  // (15s typical), `for: 0`, AM group_wait 30s. Worst case = scrape + evaluation + group_wait
  // (+ the rule's own `for`); mean = half of each periodic wait + group_wait.
  const prom = (scrape: number, evaluation: number) => ({
    mean: (scrape / 2 + evaluation / 2 + 30) * 1000,
    worst: (scrape + evaluation + 30) * 1000,
  });
  const d = prom(60, 60);
  const typ = prom(15, 15);
  console.log(
    table([
      ['setup', 'median', 'p95 / worst', 'how'],
      [`redis-fleet (10 s sampling)`, s(percentile(latencies, 50)), s(latencies.at(-1)!), 'measured (SIGKILL → webhook received)'],
      ['target', '—', s(INTERVAL_S * 1000 + 2000), 'one interval + 2 s'],
      ['Prometheus+AM defaults (1m/1m, group_wait 30s)', s(d.mean), s(d.worst), 'computed from the documented timers'],
      ['Prometheus+AM typical (15s/15s, group_wait 30s)', s(typ.mean), s(typ.worst), 'computed from the documented timers'],
    ]),
  );
} finally {
  await h.close();
  close();
}
