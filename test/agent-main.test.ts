// The agent binary (dist/agent/main.js) end to end: real Redis in, real gRPC peer out,
// graceful stop on SIGTERM/SIGINT with a bounded flush, secrets never on stdout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { harness, waitFor, waitWhileRunning } from './harness/index.js';
import { TestCollector, TEST_TOKEN } from './agent-support.js';
import { valueOf } from '../proto/index.js';

test('agent binary: samples Redis and the host, reports over gRPC, SIGTERM flushes and exits 0', async (t) => {
  const h = await harness(t);
  const secret = 'main-test-pass-4d2e';
  const redis = await h.redis({ password: secret });
  const down = await h.redis();
  await down.kill('SIGKILL');
  const c = await TestCollector.start({});
  t.after(() => c.stop());
  const dir = await h.tempDir('agent-secrets');
  const passFile = path.join(dir, 'pass');
  await fs.writeFile(passFile, `${secret}\n`, { mode: 0o600 });
  const agent = await h.agent(
    {
      hostId: 'e2e-host',
      labels: { env: 'test' },
      interval: '300ms',
      instanceSlots: 4,
      collector: { addresses: [c.address] },
      redis: [{ address: redis.address, passwordFile: passFile, cluster: 'c9' }, { address: down.address }],
    },
    { token: TEST_TOKEN },
  );
  const started = await agent.waitForLog('agent started');
  assert.deepEqual(started.instances, [redis.address, down.address]);
  await waitWhileRunning(agent, () => c.reports.length >= 3, { what: '3 reports', timeoutMs: 20_000 });
  const r = c.reports[2]!;
  assert.equal(c.hellos[0]!.hostId, 'e2e-host');
  const up = r.redis.find((s) => s.address === redis.address)!;
  assert.equal(up.up, true, up.error);
  assert.equal(up.cluster, 'c9');
  assert.equal((up.info.used_memory as { kind?: string }).kind, 'int', 'ints stay ints on the wire');
  assert.equal((up.info.mem_fragmentation_ratio as { kind?: string }).kind, 'float');
  assert.equal(valueOf(up.info.tcp_port), redis.port);
  assert.equal(r.redis.find((s) => s.address === down.address)!.up, false);
  assert.equal(r.capacity!.instanceSlots, 4);
  assert.equal(r.capacity!.runningInstances, 1);
  assert.ok(c.reports.some((x) => x.events.some((e) => e.kind === 'instance.down' && e.instance === down.address)));
  assert.ok(r.host!.memTotalBytes > 0);
  assert.equal(await agent.stop(), 0);
  const stopped = agent.logs().find((l) => l.msg === 'agent stopped');
  assert.ok(stopped, 'logs its stop');
  assert.equal(stopped.flushed, true);
  assert.equal(stopped.lastSeq, Math.max(...c.seqs()), 'the last report reached the collector');
  const out = agent.stdout() + (await agent.stderr());
  assert.ok(!out.includes(secret), 'no Redis password in the output');
  assert.ok(!out.includes(TEST_TOKEN), 'no token in the output');
});

test('agent binary: with the collector not acking, SIGINT still exits 0 after a bounded flush', async (t) => {
  const h = await harness(t);
  const c = await TestCollector.start({ ack: false });
  t.after(() => c.stop());
  const agent = await h.agent({ interval: '200ms', collector: { addresses: [c.address] }, redis: [] }, { token: TEST_TOKEN });
  await waitWhileRunning(agent, () => c.reports.length >= 2, { what: 'reports', timeoutMs: 20_000 });
  const code = await agent.kill('SIGINT');
  assert.equal(code, 0);
  const stopped = agent.logs().find((l) => l.msg === 'agent stopped')!;
  assert.equal(stopped.flushed, false);
  assert.ok(Number(stopped.unsent) >= 2, 'reports it could not get acked are reported, not hidden');
});

test('agent binary: the collector coming up late gets the whole backlog in order', async (t) => {
  const h = await harness(t);
  const c = await TestCollector.start({});
  await c.stop();
  t.after(() => c.stop());
  const agent = await h.agent({ interval: '200ms', collector: { addresses: [c.address] }, redis: [] }, { token: TEST_TOKEN });
  await agent.waitForLog('collector unreachable; buffering reports and retrying', 10_000);
  await c.listen();
  await waitWhileRunning(agent, () => c.reports.length >= 6, { what: 'backlog delivered', timeoutMs: 30_000 });
  const seqs = c.seqs();
  assert.deepEqual(seqs.slice(0, 6), [1, 2, 3, 4, 5, 6]);
  await waitFor(() => agent.logs().some((l) => l.msg === 'connected to collector'), { what: 'connected log' });
  assert.equal(await agent.stop(), 0);
});
