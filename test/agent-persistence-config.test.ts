// The agent config's `persistence:` and `redis[].persistence:` sections: opt-in default, the
// scheduler's defaults, values converted (durations, sizes, save points), and every mistake a
// ConfigError naming the key (the binary exits 78 on them: see e2e-persistence.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../common/index.js';
import { resolveAgentConfig, INPUTS } from '../agent/index.js';
import { PERSISTENCE_DEFAULTS } from '../agent/persistence/index.js';
import { createLogger } from '../common/index.js';

function base(t: { after(fn: () => void): void }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-persist-config-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, 'tok\n');
  return { collector: { addresses: ['127.0.0.1:7400'], tokenFile }, redis: [{ address: '127.0.0.1:6379' }], ...extra };
}

function keyOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.key;
  }
  assert.fail('expected a ConfigError');
}

const logger = createLogger('persistence-config-test', 'silent');

test('persistence is off unless enabled; the scheduler defaults apply; triggers are restored on stop by default', (t) => {
  const c = resolveAgentConfig(base(t));
  assert.equal(c.persistence.enabled, false);
  assert.equal(c.persistence.restoreTriggersOnStop, true);
  assert.deepEqual(c.persistence.scheduler, PERSISTENCE_DEFAULTS);
  assert.equal(c.redis[0]!.persistence, undefined, 'no per-instance section: managed, with its own policy');
  assert.equal(INPUTS.persistence!({ config: c, logger }), undefined, 'no scheduler when not enabled');
});

test('an enabled section is converted: durations, sizes, cron, per-instance opt-out and policy override', (t) => {
  const c = resolveAgentConfig(
    base(t, {
      persistence: {
        enabled: true,
        restoreTriggersOnStop: false,
        reserve: '1gb',
        floor: '512mb',
        floorAction: 'kill',
        maxRdbAge: '12h',
        loopInterval: '250ms',
        backupCron: '0 30 3 * * *',
        statePath: '/var/lib/redis-fleet/persistence-policy.json',
      },
      redis: [
        { address: '127.0.0.1:6379', persistence: { save: '900 1 300 100', rdbBackups: false, aofRewriteMinSize: '64mb' } },
        { address: '127.0.0.1:6380', persistence: { optOut: true } },
      ],
    }),
  );
  assert.equal(c.persistence.enabled, true);
  assert.equal(c.persistence.restoreTriggersOnStop, false);
  const s = c.persistence.scheduler;
  assert.equal(s.reserveBytes, 1024 ** 3);
  assert.equal(s.floorBytes, 512 * 1024 ** 2);
  assert.equal(s.floorAction, 'kill');
  assert.equal(s.maxRdbAgeMs, 12 * 3600 * 1000);
  assert.equal(s.loopIntervalMs, 250);
  assert.equal(s.backupCron, '0 30 3 * * *');
  assert.equal(s.cowSafetyFactor, PERSISTENCE_DEFAULTS.cowSafetyFactor, 'unset keys keep their defaults');
  assert.deepEqual(c.redis[0]!.persistence, {
    optOut: false,
    policyOverride: {
      savePoints: [
        { seconds: 900, changes: 1 },
        { seconds: 300, changes: 100 },
      ],
      rdbBackups: false,
      aofRewriteMinSize: 64 * 1024 ** 2,
    },
  });
  assert.deepEqual(c.redis[1]!.persistence, { optOut: true, policyOverride: {} });
});

test('every mistake names its key', (t) => {
  const cases: [Record<string, unknown>, string][] = [
    [{ persistence: { enabled: 'yes' } }, 'persistence.enabled'],
    [{ persistence: { reserve: 'lots' } }, 'persistence.reserve'],
    [{ persistence: { floor: '-1mb' } }, 'persistence.floor'],
    [{ persistence: { floorAction: 'panic' } }, 'persistence.floorAction'],
    [{ persistence: { maxRdbAge: 'a day' } }, 'persistence.maxRdbAge'],
    [{ persistence: { backupCron: 'every night' } }, 'persistence.backupCron'],
    [{ persistence: { backupTimezone: 'Mars/Olympus' } }, 'persistence.backupTimezone'],
    [{ persistence: { loopInterval: '10ms' } }, 'persistence.loopInterval'],
    [{ persistence: { cowSafetyFactor: 0.5 } }, 'persistence.cowSafetyFactor'],
    [{ persistence: { bogus: 1 } }, 'persistence.bogus'],
    [{ persistence: { enabled: true }, roles: ['proxy'] }, 'persistence.enabled'],
    [{ redis: [{ address: '127.0.0.1:6379', persistence: { save: '900' } }] }, 'redis[0].persistence.save'],
    [
      { redis: [{ address: '127.0.0.1:6379' }, { address: '127.0.0.1:6380', persistence: { aofRewriteMinSize: 'big' } }] },
      'redis[1].persistence.aofRewriteMinSize',
    ],
    [{ redis: [{ address: '127.0.0.1:6379', persistence: { optOut: 'no' } }] }, 'redis[0].persistence.optOut'],
    [{ redis: [{ address: '127.0.0.1:6379', persistence: { savePoints: '1 1' } }] }, 'redis[0].persistence.savePoints'],
  ];
  for (const [extra, key] of cases)
    assert.equal(
      keyOf(() => resolveAgentConfig(base(t, extra))),
      key,
      JSON.stringify(extra),
    );
});
