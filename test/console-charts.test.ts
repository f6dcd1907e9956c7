// The console's charts in a real headless Chromium (Debian `chromium`, playwright-core) against a
// real redis-server master + replica, the real agent and the real collector (embedded store): the
// instance ops/s chart draws the step buckets the API answers (read from the uPlot instance, not a
// screenshot), a range change is one request per view with the range's step, the cluster view
// sums its instances and shows the replica lag of its group, the host view draws CPU, and at
// 375 px wide the page does not scroll sideways. No CSP violation or script error on the way.
// Screenshots go to the test's temp dir; with RF_SCREENSHOTS=1 to docs/console-charts*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { harness, waitFor } from './harness/index.js';
import { REPO_ROOT } from './harness/fleet.js';

const CHROMIUM = '/usr/bin/chromium';
const shotDir =
  process.env.RF_SCREENSHOTS === '1' ? path.join(REPO_ROOT, 'docs') : fs.mkdtempSync(path.join(os.tmpdir(), 'rf-charts-shots-'));
if (process.env.RF_SCREENSHOTS !== '1') process.on('exit', () => fs.rmSync(shotDir, { recursive: true, force: true }));

interface DrawnChart {
  id: string;
  labels: string[];
  /** uPlot's own data: x in seconds, then one array per series. */
  data: (number | null)[][];
  series: number;
}

/** What uPlot holds for every chart on the page. */
async function drawn(page: Page): Promise<Record<string, DrawnChart>> {
  // Page code as a string: the tests compile without the DOM lib.
  return (await page.evaluate(`(() => {
    const out = {};
    for (const c of window.redisFleet.charts)
      out[c.id] = { id: c.id, labels: c.labels, data: c.plot.data.map((a) => Array.from(a)), series: c.plot.series.length - 1 };
    return out;
  })()`)) as Record<string, DrawnChart>;
}

const pointsOf = (c: DrawnChart | undefined) => (c ? c.data.slice(1).reduce((n, ys) => n + ys.filter((v) => v !== null).length, 0) : 0);

/** Waits until chart `id` has at least `min` drawn points; returns every chart. */
async function chartWith(page: Page, id: string, min: number, what: string): Promise<Record<string, DrawnChart>> {
  let last: Record<string, DrawnChart> = {};
  try {
    return await waitFor(
      async () => {
        last = await drawn(page);
        return pointsOf(last[id]) >= min ? last : null;
      },
      { timeoutMs: 60_000, intervalMs: 250, what },
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message}; note: ${await page.locator('#chart-note').textContent()}; charts: ${JSON.stringify(last).slice(0, 500)}`,
    );
  }
}

test('console charts: instance, cluster and host curves from the step API; range picker; phone width', async (t) => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium`);
  const h = await harness(t);
  const master = await h.redis();
  const replica = await h.redisReplica(master);
  const collector = await h.collector();
  await h.agent(
    {
      hostId: 'charts-h1',
      interval: '500ms',
      redis: [
        { address: master.address, cluster: 'c1', group: 'g1' },
        { address: replica.address, cluster: 'c1', group: 'g1' },
      ],
    },
    { collector },
  );
  // Some traffic so ops/s is more than the agent's own INFO.
  const client = master.client();
  t.after(() => client.quit().catch(() => undefined));
  const traffic = setInterval(() => {
    for (let i = 0; i < 20; i++) client.set(`k${i}`, String(Date.now())).catch(() => undefined);
  }, 20);
  t.after(() => clearInterval(traffic));

  // The API has at least two 10 s buckets of the master's ops/s, and a replica lag point for g1.
  const from = Date.now() - 3_600_000;
  const opsQuery = `/api/v1/query?measurement=redis&instance=${master.address}&fields=ops_per_sec&from=${from}&step=10s`;
  await waitFor(async () => (await collector.api(opsQuery)).points.length >= 2, {
    timeoutMs: 60_000,
    what: 'two ops/s buckets in the API',
  });
  await waitFor(
    async () => (await collector.api(`/api/v1/query?measurement=redis_repl_offset&cluster=c1&from=${from}&step=10s`)).points.length >= 1,
    { timeoutMs: 30_000, what: 'a replica offset point for c1' },
  );

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  const problems: string[] = [];
  const queries: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // A failed load is reported below with its URL (the browser's own /favicon.ico has none to fetch).
      if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/query?')) queries.push(r.url());
    });
  };
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  watch(page);
  const res = await page.goto(`${collector.httpUrl}/console#token=${encodeURIComponent(collector.apiTokens.viewer!)}`);
  assert.equal(res?.status(), 200);

  // The charts open on an instance; pick the master by clicking its address in the table.
  await page.locator(`#instances tr[data-instance="${master.address}"] button`).first().click();
  assert.equal(await page.locator('#chart-kind').inputValue(), 'instance');
  assert.equal(await page.locator('#chart-target').inputValue(), `charts-h1 ${master.address}`);
  let charts = await chartWith(page, 'ops', 2, 'the ops/s chart of the master with two points');
  const ops = charts.ops!;
  assert.equal(ops.series, 1, 'one ops/s series');
  assert.deepEqual(ops.labels, ['ops/s']);
  assert.ok(charts.memory && pointsOf(charts.memory) >= 1 && charts.clients && pointsOf(charts.clients) >= 1, 'memory and clients charts');
  assert.equal(pointsOf(charts.clients), charts.clients.data[0]!.length, 'a clients value in every bucket');
  // What uPlot draws is what the API answers for the same buckets (the newest one may still grow).
  const api = (await collector.api(opsQuery)).points as { time: number; fields: { ops_per_sec: number } }[];
  const byTime = new Map(api.map((p) => [p.time, p.fields.ops_per_sec]));
  const xs = ops.data[0]!;
  for (let i = 0; i < xs.length - 1; i++) {
    const t = (xs[i] as number) * 1000;
    assert.equal(t % 10_000, 0, 'a 10 s bucket');
    if (!byTime.has(t)) continue; // older than the API's answer? never: same from
    assert.ok(
      Math.abs((ops.data[1]![i] as number) - byTime.get(t)!) < 1e-6,
      `ops/s at ${t}: drawn ${ops.data[1]![i]} vs API ${byTime.get(t)}`,
    );
  }
  assert.ok(
    xs.slice(0, -1).every((x) => byTime.has((x as number) * 1000)),
    'every drawn bucket is one the API answered',
  );
  assert.ok(
    (ops.data[1] as number[]).some((v) => v > 0),
    'ops/s above zero',
  );
  assert.ok((await page.locator('#chart-ops canvas').count()) >= 1, 'uPlot drew on a canvas');
  await page.screenshot({ path: path.join(shotDir, 'console-charts.png'), fullPage: false, clip: await clipOf(page) });

  // The range picker: one request for the view, with the range's step.
  queries.length = 0;
  await page.locator('#chart-ranges button[value="24h"]').click();
  await page.locator('#chart-note:has-text("step 300s")').waitFor({ timeout: 15_000 });
  assert.equal(await page.locator('#chart-ranges button[value="24h"]').getAttribute('aria-pressed'), 'true');
  assert.equal(queries.length, 1, `one request for the instance view: ${queries.join(' ')}`);
  const q = new URL(queries[0]!).searchParams;
  assert.equal(q.get('step'), '300000');
  assert.ok(Number(q.get('to')) - Number(q.get('from')) === 86_400_000, '24 h');
  charts = await chartWith(page, 'ops', 1, 'the ops/s chart at 24 h');
  assert.equal((charts.ops!.data[0]![0] as number) % 300, 0, 'a 300 s bucket (the 5-minute rollups answer it)');

  // A cluster: ops/s summed over its instances, and the lag of its group's replica.
  await page.locator('#chart-ranges button[value="1h"]').click();
  await page.locator('#chart-kind').selectOption('cluster');
  assert.equal(await page.locator('#chart-target').inputValue(), 'c1');
  charts = await chartWith(page, 'repl', 1, 'the replica lag chart of c1');
  assert.deepEqual(charts.repl!.labels, ['group g1']);
  assert.ok(pointsOf(charts.ops) >= 1, 'cluster ops/s');
  const sums = (await collector.api(`/api/v1/query?measurement=redis&cluster=c1&fields=ops_per_sec&from=${from}&step=10s&sum=cluster`))
    .points;
  assert.ok(
    sums.length >= 1 && sums.every((p: { tags: Record<string, string> }) => p.tags.cluster === 'c1' && Object.keys(p.tags).length === 1),
  );

  // A host: CPU and memory.
  await page.locator('#chart-kind').selectOption('host');
  assert.equal(await page.locator('#chart-target').inputValue(), 'charts-h1');
  charts = await chartWith(page, 'cpu', 1, 'the CPU chart of charts-h1');
  assert.deepEqual(charts.memory!.labels, ['used', 'total']);

  // Phone width: the page does not scroll sideways, the charts fit, and they still draw.
  const phone = await browser.newPage({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  watch(phone);
  await phone.goto(`${collector.httpUrl}/console#token=${encodeURIComponent(collector.apiTokens.viewer!)}`);
  await phone.locator(`#instances tr[data-instance="${master.address}"]`).waitFor({ timeout: 15_000 });
  await phone.locator('#chart-kind').selectOption('instance');
  await phone.locator('#chart-target').selectOption(`charts-h1 ${master.address}`);
  await chartWith(phone, 'ops', 2, 'the ops/s chart on a phone');
  const fit = (await phone.evaluate(`({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    widest: Math.max(...Array.from(document.querySelectorAll('.chart')).map((c) => c.getBoundingClientRect().right)),
  })`)) as { scrollWidth: number; innerWidth: number; widest: number };
  assert.equal(fit.innerWidth, 375);
  assert.ok(fit.scrollWidth <= fit.innerWidth, `no horizontal scroll at 375 px: scrollWidth ${fit.scrollWidth}`);
  assert.ok(fit.widest <= fit.innerWidth, `charts fit: right edge ${fit.widest}`);
  await phone.locator('#charts-section').scrollIntoViewIfNeeded();
  await phone.screenshot({ path: path.join(shotDir, 'console-charts-phone.png'), fullPage: false });

  assert.deepEqual(problems, [], 'no script error or CSP violation');
});

/** The charts section's box, for a screenshot of just the charts. */
async function clipOf(page: Page): Promise<{ x: number; y: number; width: number; height: number }> {
  await page.locator('#charts-section').scrollIntoViewIfNeeded();
  const box = await page.locator('#charts-section').boundingBox();
  if (!box) throw new Error('no charts section');
  return box;
}
