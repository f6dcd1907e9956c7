// The fleet console in a real headless Chromium (Debian `chromium`, driven by playwright-core)
// against a real stack: redis-server master + replica + standalone, the real agent and
// collector (embedded store). The page shows the instances with role and headroom; an alert
// fired by a stopped instance is acknowledged and silenced by clicking in the page, and both
// reach the API; a collector outage shows the error banner and clears when it is back. The page
// asks for an API token first (a wrong one is refused, a viewer's may look but not ack) and a
// #token= link signs in and leaves the address bar.
// Screenshots go to the test's temp dir; with RF_SCREENSHOTS=1 to docs/console-*.png (referenced from
// README.md), so a normal run leaves the checkout unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { harness, waitFor, type Harness } from './harness/index.js';
import { REPO_ROOT } from './harness/fleet.js';

const CHROMIUM = '/usr/bin/chromium';
const HOSTILE = '<img src=x onerror="window.__xss=1"><b>ops</b>';

interface AlertView {
  id: string;
  fingerprint: string;
  name: string;
  state: string;
  acknowledged: boolean;
  ack: { by: string; comment: string } | null;
  labels: Record<string, string>;
}
interface SilenceView {
  id: string;
  createdBy: string;
  comment: string;
  status: { state: string };
  matchers: { name: string; value: string; isRegex: boolean }[];
}

/** The cells of the first row matching `row`, joined with " | ". */
async function cells(page: Page, row: string): Promise<string> {
  await page.locator(row).first().waitFor({ timeout: 15_000 });
  return (await page.locator(row).first().locator('td').allTextContents()).join(' | ');
}

/** Waits until the cells of the first row matching `row` match `re` (the page refreshes every second); returns them. */
async function rowMatching(page: Page, row: string, re: RegExp): Promise<string> {
  let seen = '';
  try {
    return await waitFor(
      async () => {
        seen = await cells(page, row);
        return re.test(seen) ? seen : null;
      },
      { timeoutMs: 15_000, what: `${row} matching ${re}` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${seen}`);
  }
}

/** The text of the locator's first match, whitespace collapsed. */
async function text(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

const shotDir =
  process.env.RF_SCREENSHOTS === '1' ? path.join(REPO_ROOT, 'docs') : fs.mkdtempSync(path.join(os.tmpdir(), 'rf-console-shots-'));
const shot = (name: string) => path.join(shotDir, name);
if (process.env.RF_SCREENSHOTS !== '1') process.on('exit', () => fs.rmSync(shotDir, { recursive: true, force: true }));

test('fleet console: instances, alert ack and silence from the page reach the API, outage banner', async (t) => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium (scripts/ensure-deps.sh servers does it as root)`);
  const h = await harness(t);
  const master = await h.redis();
  const replica = await h.redisReplica(master);
  const standalone = await h.redis();
  const collector = await h.collector({ alerting: { route: { receiver: 'none', groupWait: '200ms' }, receivers: [{ name: 'none' }] } });
  await h.agent(
    {
      hostId: 'console-h1',
      interval: '300ms',
      labels: { idc: 'sz-a', env: 'test', owner: HOSTILE },
      persistence: { enabled: true },
      redis: [
        { address: master.address, cluster: 'c1', group: 'g1' },
        { address: replica.address, cluster: 'c1', group: 'g1' },
        { address: standalone.address, cluster: 'c2', group: 'g9' },
      ],
    },
    { collector },
  );
  await waitFor(
    async () =>
      (await collector.api('/api/v1/instances')).instances.filter(
        (i: { status: string; headroom: unknown }) => i.status === 'up' && i.headroom,
      ).length === 3,
    { what: 'three instances with headroom in the API' },
  );

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(m.text())) problems.push(`console: ${m.text()}`);
  });

  const res = await page.goto(`${collector.httpUrl}/console?refresh=1000`);
  assert.equal(res?.status(), 200);
  assert.match(String(res?.headers()['content-security-policy']), /script-src 'self'/);

  // Sign in: the page asks for a token; a wrong one is refused with the collector's reason.
  const tokenDialog = page.locator('#token-dialog');
  await tokenDialog.waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await text(page, '#token-error'), 'This collector needs an API token.');
  await tokenDialog.locator('input[name=token]').fill('rfapi_wrong');
  await tokenDialog.locator('button[type=submit]').click();
  await page.locator('#token-error:has-text("Token refused: unknown or revoked token")').waitFor({ timeout: 10_000 });
  await tokenDialog.locator('input[name=token]').fill(collector.apiTokens.viewer!);
  await tokenDialog.locator('button[type=submit]').click();
  await tokenDialog.waitFor({ state: 'hidden' });
  await page.locator('#who:has-text("signed in as test-viewer (viewer)")').waitFor({ timeout: 10_000 });

  // Every instance, with its role and its memory headroom.
  for (const [server, role] of [
    [master, 'master'],
    [replica, 'slave'],
    [standalone, 'master'],
  ] as const) {
    const row = `#instances tr[data-instance="${server.address}"]`;
    await page.locator(row).waitFor({ timeout: 15_000 });
    const cells = await page.locator(`${row} td`).allTextContents();
    assert.equal(cells[0], 'console-h1');
    assert.equal(cells[1], server.address);
    assert.equal(cells[2], role);
    assert.equal(cells[3], 'up');
    assert.match(cells[7]!, /free \(\d+(\.\d+)?% used\)/, `headroom cell of ${server.address}: ${cells[7]}`);
    assert.ok((await page.locator(`${row} meter`).count()) === 1, 'a headroom meter');
  }
  await rowMatching(page, '#hosts tr[data-host="console-h1"]', /^console-h1 \| up \| redis \| env=test idc=sz-a owner=.* \| connected \|/);
  await rowMatching(page, '#persistence tr[data-host="console-h1"]', /^console-h1 \| up \| free \| empty \| 0 \| .+ \| 3 \/ 3 \| none \|/);
  await rowMatching(page, '#capacity tr[data-host="console-h1"]', /^console-h1 \| redis \| env=test idc=sz-a \| fresh \|/);
  assert.match(await text(page, '#guard'), /No host runs sentinel-guard/);
  assert.match(await text(page, '#updated'), /^updated \d+s ago$/);
  assert.equal(await page.locator('#banner').isVisible(), false);
  // Text from the API is text: the hostile label shows literally and runs nothing.
  assert.ok((await text(page, '#hosts')).includes(HOSTILE), 'label shown as text');
  assert.equal(await page.evaluate('window.__xss'), undefined);
  assert.equal(await page.locator('#hosts img').count(), 0);
  fs.mkdirSync(path.join(REPO_ROOT, 'docs'), { recursive: true });
  await page.screenshot({ path: shot('console-fleet.png'), fullPage: true });

  // Stop the standalone: RedisInstanceDown fires and shows in the page with an Ack button.
  await standalone.stop();
  const alertRow = page.locator('#alerts tr[data-alertname="RedisInstanceDown"]');
  await alertRow.locator('button.ack').waitFor({ timeout: 20_000 });
  assert.ok(
    (await cells(page, '#alerts tr[data-alertname="RedisInstanceDown"]')).startsWith(
      `firing | RedisInstanceDown | critical | ${standalone.address} on console-h1 | `,
    ),
  );
  const fingerprint = await alertRow.getAttribute('data-fingerprint');
  assert.ok(fingerprint);

  // A viewer may look but not acknowledge: the dialog says why.
  const ackDialog = page.locator('#ack-dialog');
  await alertRow.locator('button.ack').click();
  await ackDialog.waitFor({ state: 'visible' });
  await ackDialog.locator('input[name=by]').fill('alice');
  await ackDialog.locator('button[type=submit]').click();
  await page
    .locator('#ack-error:has-text("token \\"test-viewer\\" has role viewer; POST /api/v1/alerts/:id/ack needs operator")')
    .waitFor({ timeout: 10_000 });
  await ackDialog.locator('button.cancel').click();
  // A link with #token= signs in as its holder and the token leaves the address bar.
  await page.goto(`${collector.httpUrl}/console?refresh=1000#token=${encodeURIComponent(collector.apiTokens.operator!)}`);
  await page.locator('#who:has-text("signed in as test-operator (operator)")').waitFor({ timeout: 10_000 });
  assert.ok(!page.url().includes('token'), `token left in the URL: ${page.url()}`);

  await alertRow.locator('button.ack').click();
  await ackDialog.waitFor({ state: 'visible' });
  await ackDialog.locator('input[name=by]').fill('alice');
  await ackDialog.locator('input[name=comment]').fill('looking <now>');
  await page.screenshot({ path: shot('console-ack.png'), fullPage: false });
  await ackDialog.locator('button[type=submit]').click();
  await ackDialog.waitFor({ state: 'hidden' });
  const acked = await waitFor(
    async () => {
      const a = (await collector.api<{ alerts: AlertView[] }>(`/api/v1/alerts?fingerprint=${fingerprint}`)).alerts[0];
      return a?.acknowledged ? a : null;
    },
    { what: 'ack in GET /api/v1/alerts' },
  );
  assert.equal(acked.ack?.by, 'alice');
  assert.equal(acked.ack?.comment, 'looking <now>');
  assert.equal(acked.state, 'firing');
  await page.locator('#alerts tr[data-alertname="RedisInstanceDown"]:has-text("by alice")').waitFor({ timeout: 10_000 });
  assert.equal(await alertRow.locator('button.ack').count(), 0, 'no Ack button on an acknowledged alert');
  const audit = (await collector.api<{ entries: { token: string; route: string; status: number }[] }>('/api/v1/audit')).entries;
  assert.deepEqual(
    audit.map((e) => [e.token, e.route, e.status]),
    [
      ['test-operator', '/api/v1/alerts/:id/ack', 200],
      ['test-viewer', '/api/v1/alerts/:id/ack', 403],
    ],
  );

  // Silence it from the page: alertname + instance + host, 2 hours.
  await alertRow.locator('button.silence').click();
  const silDialog = page.locator('#silence-dialog');
  await silDialog.waitFor({ state: 'visible' });
  assert.equal(await silDialog.locator('input[name=createdBy]').inputValue(), 'alice', 'the operator name is remembered');
  await silDialog.locator('input[name=comment]').fill('maintenance of the standalone');
  await silDialog.locator('button[type=submit]').click();
  await silDialog.waitFor({ state: 'hidden' });
  const silence = await waitFor(
    async () => (await collector.api<SilenceView[]>('/api/v1/silences')).find((s) => s.comment === 'maintenance of the standalone'),
    { what: 'silence in GET /api/v1/silences' },
  );
  assert.equal(silence.createdBy, 'alice');
  assert.equal(silence.status.state, 'active');
  assert.deepEqual(Object.fromEntries(silence.matchers.map((m) => [m.name, m.value])), {
    alertname: 'RedisInstanceDown',
    host: 'console-h1',
    instance: standalone.address,
  });
  assert.ok(silence.matchers.every((m) => !m.isRegex));
  await page.locator(`#silences tr[data-silence="${silence.id}"]`).waitFor({ timeout: 10_000 });
  await page.locator('#alerts tr[data-alertname="RedisInstanceDown"]:has-text("suppressed (silenced)")').waitFor({ timeout: 10_000 });
  await page.screenshot({ path: shot('console-alerts.png'), fullPage: true });

  // Collector outage: the banner says so, and clears when the collector is back.
  await collector.kill('SIGKILL');
  await page.locator('#banner:has-text("Collector unreachable")').waitFor({ timeout: 10_000 });
  assert.match(await text(page, '#banner'), /Showing data from \d+s ago/);
  await page.screenshot({ path: shot('console-unreachable.png'), fullPage: false });
  await collector.start();
  await page.locator('#banner').waitFor({ state: 'hidden', timeout: 15_000 });

  assert.deepEqual(problems, []);
});

test('fleet console with InfluxDB as the store: the page shows the sink and the instances', async (t) => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium`);
  const h: Harness = await harness(t);
  const redis = await h.redis();
  const influx = await h.influx();
  const collector = await h.collector({ influx: { url: influx.url, database: 'redisfleet', flushInterval: '200ms' } });
  await h.agent({ hostId: 'console-influx', interval: '300ms', redis: [{ address: redis.address, cluster: 'c1' }] }, { collector });
  await waitFor(async () => (await collector.api('/api/v1/instances')).instances.some((i: { status: string }) => i.status === 'up'), {
    what: 'instance up in the API',
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${collector.httpUrl}/console#token=${collector.apiTokens.viewer!}`);
  assert.match(
    await cells(page, `#instances tr[data-instance="${redis.address}"]`),
    new RegExp(`^console-influx \\| ${redis.address.replace(/\./g, '\\.')} \\| master \\| up \\| c1 \\|`),
  );
  assert.equal(await text(page, '#sink'), 'store: InfluxDB');
  // The trailing-slash form redirects to the page (its relative URLs assume /console).
  const slash = await page.goto(`${collector.httpUrl}/console/`);
  assert.equal(new URL(slash!.url()).pathname, '/console');
  await page.locator(`#instances tr[data-instance="${redis.address}"]`).waitFor({ timeout: 15_000 });
  assert.deepEqual(problems, []);
});
