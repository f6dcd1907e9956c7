// GET /metrics on a real collector: 401 without a token, the Prometheus text format with a
// viewer token, counters that move when a real agent reports, and a real scraper
// (VictoriaMetrics' promscrape, Prometheus-compatible) reading it with bearer_token_file.
// The agent's opt-in metrics.listen: token required, its own health, config errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { freePort, harness, waitFor } from './harness/index.js';

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABELS = `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*",?)*\\}`;
const VALUE = '(?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[-+]?Inf|NaN)';
const SAMPLE = new RegExp(`^(${NAME})(${LABELS})? (${VALUE})(?: -?\\d+)?$`);
const META = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`);

/** Parses the text exposition format (version 0.0.4) strictly: every line must be a sample, HELP, TYPE or empty. */
function parseExposition(text: string): { types: Map<string, string>; samples: Map<string, number> } {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const meta = META.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        assert.match(meta[3] ?? '', /^(counter|gauge|histogram|summary|untyped)$/, `line ${i + 1}: ${line}`);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `line ${i + 1} is not in the exposition format: ${JSON.stringify(line)}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return { types, samples };
}

const P = 'redis_fleet_collector_';

test('/metrics: token required, exposition format, counters move with a real agent, scraped with bearer_token_file', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();

  const anonymous = await collector.request('/metrics', { as: 'anonymous' });
  assert.equal(anonymous.status, 401, anonymous.text);
  assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
  assert.equal((await collector.request('/metrics', { token: 'rfapi_not-a-real-token' })).status, 401);

  const scrape = async () => {
    const r = await collector.request('/metrics', { as: 'viewer' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseExposition(r.text);
  };
  const before = await scrape();
  assert.equal(before.types.get(`${P}reports_received_total`), 'counter');
  assert.equal(before.types.get(`${P}agents_connected`), 'gauge');
  assert.equal(before.samples.get(`${P}reports_received_total`), 0);
  assert.equal(before.samples.get(`${P}agents_connected`), 0);
  assert.equal(before.samples.get(`${P}points_dropped_total{reason="no_room"}`), 0);
  assert.equal(before.samples.get(`${P}storage_state{state="ok"}`), 1);
  assert.ok((before.samples.get(`${P}process_resident_memory_bytes`) ?? 0) > 0, 'default process metrics');

  const redis = await h.redis();
  await h.agent({ hostId: 'm1', interval: '200ms', redis: [{ address: redis.address }] }, { collector });
  let after = before;
  await waitFor(
    async () => {
      after = await scrape();
      return (after.samples.get(`${P}reports_acked_total`) ?? 0) >= 2;
    },
    { what: 'two acked reports in /metrics', timeoutMs: 30_000, intervalMs: 200 },
  );
  const value = (name: string) => after.samples.get(P + name) ?? -1;
  assert.equal(value('agents_connected'), 1);
  assert.equal(value('hosts'), 1);
  assert.ok(value('reports_received_total') >= value('reports_acked_total'));
  assert.ok(value('ingest_samples_total') >= value('reports_acked_total'), 'one Redis sample per report');
  assert.ok(value('sink_points_accepted_total') > (before.samples.get(`${P}sink_points_accepted_total`) ?? 0));
  assert.ok(value('alerts_firing') >= 0);

  // A real scraper with the viewer token in a file, as Prometheus' bearer_token_file.
  const dir = await h.tempDir('metrics');
  const tokenFile = path.join(dir, 'viewer.token');
  await fs.writeFile(tokenFile, `${collector.apiTokens.viewer}\n`, { mode: 0o600 });
  const target = new URL(collector.httpUrl).host;
  const scrapeConfig = path.join(dir, 'scrape.yml');
  await fs.writeFile(
    scrapeConfig,
    [
      'scrape_configs:',
      '  - job_name: redis-fleet-collector',
      '    scrape_interval: 1s',
      `    bearer_token_file: ${tokenFile}`,
      `    static_configs: [{ targets: ['${target}'] }]`,
      '',
    ].join('\n'),
  );
  const vm = await h.victoria({ args: [`-promscrape.config=${scrapeConfig}`] });
  await waitFor(
    async () => {
      const up = await vm.query('up{job="redis-fleet-collector"}');
      const received = await vm.query(`${P}reports_received_total{job="redis-fleet-collector"}`);
      return up[0]?.value?.[1] === '1' && Number(received[0]?.value?.[1] ?? 0) > 0;
    },
    { what: 'VictoriaMetrics scraped /metrics with the bearer token', timeoutMs: 60_000, intervalMs: 500 },
  );
});

test('agent metrics.listen: bearer token, its own health (buffer, collector link, instances up/down), config errors', async (t) => {
  const h = await harness(t);
  const collector = await h.collector();
  const redis = await h.redis();
  const dir = await h.tempDir('agent-metrics');
  const tokenFile = path.join(dir, 'metrics.token');
  await fs.writeFile(tokenFile, 'scrape-secret-1\n', { mode: 0o600 });
  const port = await freePort();
  const unused = await freePort();
  const agent = await h.agent(
    {
      hostId: 'am1',
      interval: '200ms',
      redis: [{ address: redis.address }, { address: `127.0.0.1:${unused}` }],
      metrics: { listen: `127.0.0.1:${port}`, tokenFile },
    },
    { collector },
  );
  await agent.waitForLog('metrics listening');
  const url = `http://127.0.0.1:${port}/metrics`;
  const get = (headers: Record<string, string> = {}) => fetch(url, { headers, signal: AbortSignal.timeout(10_000) });

  for (const headers of [
    {} as Record<string, string>,
    { authorization: 'Bearer wrong' },
    { authorization: 'Basic c2NyYXBlOnNlY3JldA==' },
  ]) {
    const r = await get(headers);
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
  }
  assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);

  const A = 'redis_fleet_agent_';
  let m = parseExposition('');
  await waitFor(
    async () => {
      const r = await get({ authorization: 'Bearer scrape-secret-1' });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      m = parseExposition(await r.text());
      return m.samples.get(`${A}collector_connected`) === 1 && (m.samples.get(`${A}ticks_total`) ?? 0) >= 2;
    },
    { what: 'agent metrics after two ticks, connected', timeoutMs: 30_000, intervalMs: 200 },
  );
  assert.equal(m.types.get(`${A}dropped_reports_total`), 'counter');
  assert.equal(m.samples.get(`${A}instances{status="up"}`), 1);
  assert.equal(m.samples.get(`${A}instances{status="down"}`), 1);
  assert.equal(m.samples.get(`${A}dropped_reports_total`), 0);
  assert.ok((m.samples.get(`${A}last_tick_cpu_ms`) ?? -1) >= 0);
  assert.ok(m.samples.has(`${A}buffered_reports`));
  assert.ok((m.samples.get(`${A}process_resident_memory_bytes`) ?? 0) > 0);

  const base = { hostId: 'am2', collector: { addresses: ['127.0.0.1:1'], tokenEnv: 'RF_M_TOKEN' } };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ metrics: { listen: `127.0.0.1:${port}` } }, /metrics\.tokenFile: is required with metrics\.listen/],
    [{ metrics: { tokenFile } }, /metrics\.tokenFile: needs metrics\.listen/],
    [{ metrics: { listen: 'nohost', tokenFile } }, /metrics\.listen: must be host:port/],
    [{ metrics: { listen: `127.0.0.1:${port}`, tokenFile } }, /metrics\.listen: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/],
  ];
  for (const [config, expected] of cases) {
    const r = await h.runToExit('agent', { ...base, ...config }, { env: { ...process.env, RF_M_TOKEN: 'tok' } });
    assert.equal(r.code, 78, `${JSON.stringify(config)}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, expected);
  }
  assert.ok(!agent.stdout().includes('scrape-secret-1'), 'the metrics token is never logged');
});
