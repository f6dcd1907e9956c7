// SLOWLOG through the Redis input against real redis-server processes: each entry once,
// through SLOWLOG RESET and a restart; arguments truncated and secrets masked; a refused
// SLOWLOG listed unavailable and logged once. Plus the pure masking/formatting rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Accumulator, RedisInput, formatSlowlogCommand, type AgentConfig } from '../agent/index.js';
import type { RedisSample, SlowlogEntry } from '../proto/index.js';
import { harness, waitFor } from './harness/index.js';
import { agentConfig, memoryLogger } from './agent-support.js';

async function rig(t: { after(fn: () => unknown): void }, redis: Record<string, unknown>[]) {
  const config: AgentConfig = agentConfig({ redis });
  const log = memoryLogger();
  const input = new RedisInput({ config, logger: log.logger });
  t.after(() => input.stop());
  await input.start();
  return {
    log,
    async sample(address: string): Promise<RedisSample> {
      const acc = new Accumulator(Date.now());
      await input.gather(acc);
      const s = acc.redis.find((x) => x.address === address);
      assert.ok(s?.up, `sample of ${address}: ${s?.error}`);
      return s;
    },
  };
}

const commandsOf = (entries: SlowlogEntry[]) => entries.map((e) => e.command.split(' ')[0]!.toLowerCase());

test('slowlog entries are reported once each, oldest first, across SLOWLOG RESET and a restart', async (t) => {
  const h = await harness(t);
  const s = await h.redis({ args: ['--slowlog-log-slower-than', '0', '--slowlog-max-len', '1000'] });
  const r = await rig(t, [{ address: s.address }]);
  await r.sample(s.address); // drains whatever start-up put in the log
  await s.call('SET', 'alpha', '1');
  await s.call('GET', 'alpha');
  const first = (await r.sample(s.address)).slowlog;
  const cmds = commandsOf(first);
  assert.ok(cmds.indexOf('set') >= 0 && cmds.indexOf('get') > cmds.indexOf('set'), `set then get: ${cmds.join(',')}`);
  const set = first.find((e) => e.command === 'SET alpha 1');
  assert.ok(set, `SET alpha 1 among ${first.map((e) => e.command).join(' | ')}`);
  assert.ok(set.durationUsec >= 0 && Math.abs(set.timestamp - Date.now() / 1000) < 60);
  assert.match(set.client, /^127\.0\.0\.1:\d+$/);
  for (let i = 1; i < first.length; i++) assert.ok(first[i]!.id > first[i - 1]!.id, 'ascending ids');

  const again = (await r.sample(s.address)).slowlog;
  assert.ok(!again.some((e) => first.some((f) => f.id === e.id)), 'nothing reported twice');

  await s.call('SLOWLOG', 'RESET');
  await s.call('SET', 'after-reset', '1');
  const afterReset = (await r.sample(s.address)).slowlog;
  assert.ok(
    afterReset.some((e) => e.command === 'SET after-reset 1'),
    'entries after a RESET are seen',
  );

  // More new entries than the first fetch holds: the agent fetches up to 128.
  for (let i = 0; i < 40; i++) await s.call('SET', `burst${i}`, 'v');
  const burst = (await r.sample(s.address)).slowlog.filter((e) => e.command.startsWith('SET burst'));
  assert.equal(burst.length, 40, 'every entry of a burst of 40');

  await s.restart({ save: false });
  await s.call('SET', 'after-restart', '1'); // ids start again at 0
  const afterRestart = await waitFor(
    async () => {
      const x = (await r.sample(s.address).catch(() => undefined))?.slowlog;
      return x?.some((e) => e.command === 'SET after-restart 1') ? x : undefined;
    },
    { what: 'slowlog entries after a restart', timeoutMs: 15_000 },
  );
  assert.ok(
    afterRestart.every((e) => e.id < 40),
    `ids restarted: ${afterRestart.map((e) => e.id).join(',')}`,
  );
});

test('slowlog arguments: secrets masked, long values truncated, never the password anywhere', async (t) => {
  const h = await harness(t);
  const secret = 'super-secret-masterauth';
  const s = await h.redis({ args: ['--slowlog-log-slower-than', '0'] });
  const r = await rig(t, [{ address: s.address }]);
  await r.sample(s.address);
  await s.call('CONFIG', 'SET', 'masterauth', secret);
  await s.call('SET', 'big', 'x'.repeat(5000));
  await s.call('RPUSH', 'list', ...Array.from({ length: 40 }, (_, i) => `v${i}`));
  const entries = (await r.sample(s.address)).slowlog;
  assert.ok(!JSON.stringify(entries).includes(secret), 'the secret is not reported');
  const cfg = entries.find((e) => e.command.startsWith('CONFIG SET masterauth'));
  assert.ok(cfg, entries.map((e) => e.command).join(' | '));
  const big = entries.find((e) => e.command.startsWith('SET big'))!;
  assert.ok(big.command.length < 200, `truncated: ${big.command.length} chars`);
  const list = entries.find((e) => e.command.startsWith('RPUSH list'))!;
  assert.ok(list.command.length <= 513, 'bounded');
  assert.match(list.command, /more arguments|…/);
});

test('SLOWLOG refused by ACL: the rest is sampled, SLOWLOG listed unavailable, logged once', async (t) => {
  const h = await harness(t);
  const s = await h.redis({ aclUsers: [{ name: 'noslow', password: 'pw-noslow-1', rules: '~* &* +@all -slowlog' }] });
  const r = await rig(t, [{ address: s.address, user: 'noslow', password: 'pw-noslow-1' }]);
  for (let i = 0; i < 3; i++) {
    const x = await r.sample(s.address);
    assert.deepEqual(x.unavailable, ['SLOWLOG']);
    assert.deepEqual(x.slowlog, []);
    assert.ok(x.info.connected_clients !== undefined, 'INFO still sampled');
  }
  const lines = r.log.lines.filter((l) => l.msg === 'SLOWLOG refused; slowlog entries unavailable');
  assert.equal(lines.length, 1);
  assert.match(String(lines[0]!.error), /NOPERM/);
  assert.ok(!r.log.text().includes('pw-noslow-1'));
});

test('formatSlowlogCommand masks AUTH, HELLO AUTH, MIGRATE AUTH/AUTH2, CONFIG SET requirepass, ACL SETUSER passwords', () => {
  assert.equal(formatSlowlogCommand(['AUTH', 'user', 'pw']), 'AUTH (redacted) (redacted)');
  assert.equal(formatSlowlogCommand(['HELLO', '3', 'AUTH', 'u', 'pw', 'SETNAME', 'n']), 'HELLO 3 AUTH u (redacted) SETNAME n');
  assert.equal(formatSlowlogCommand(['MIGRATE', 'h', '1', 'k', '0', '5', 'AUTH', 'pw']), 'MIGRATE h 1 k 0 5 AUTH (redacted)');
  assert.equal(formatSlowlogCommand(['MIGRATE', 'h', '1', 'k', '0', '5', 'AUTH2', 'u', 'pw']), 'MIGRATE h 1 k 0 5 AUTH2 u (redacted)');
  assert.equal(
    formatSlowlogCommand(['config', 'set', 'requirepass', 'pw', 'maxmemory', '1gb']),
    'config set requirepass (redacted) maxmemory 1gb',
  );
  assert.equal(formatSlowlogCommand(['ACL', 'SETUSER', 'bob', 'on', '>pw', '#abc', '~*']), 'ACL SETUSER bob on (redacted) (redacted) ~*');
  assert.equal(formatSlowlogCommand(['GET', 'a\nb']), 'GET a b');
  const long = formatSlowlogCommand(['SET', 'k', 'y'.repeat(100)]);
  assert.equal(long, `SET k ${'y'.repeat(64)}…`);
});
