// sentinel-guard's pure parts: config and timing budget, ACL line parsing, the Sentinel verdicts,
// Sentinel message parsing, the Codis group znode, and the guard state → points mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../common/index.js';
import {
  failsafeVerdict,
  guardBudget,
  guardConfigFromYaml,
  guardViewToProto,
  masterZnodeFor,
  parseAclLine,
  parseMasterZnode,
  parseSentinelMessage,
  rightfulMaster,
  type GuardView,
  type SentinelRound,
} from '../sentinel-guard/index.js';
import { reportPoints } from '../collector/points.js';

const base = {
  enabled: true,
  zookeeper: { servers: '10.0.0.1:2181,10.0.0.2:2181/codis' },
  sentinels: { addresses: ['10.0.0.1:26379', '10.0.0.2:26379', '10.0.0.3:26379'] },
};

function keyOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.key;
  }
  assert.fail('expected a ConfigError');
}

test('guard config: defaults fit the Codis default down-after (30 s); off by default', () => {
  const c = guardConfigFromYaml(base);
  assert.equal(c.fence.mode, 'acl');
  assert.equal(c.zookeeper.probeIntervalMs, 1000);
  assert.equal(c.zookeeper.failures, 3);
  assert.equal(c.sentinels.downAfterMs, 30_000);
  const b = guardBudget(c);
  assert.equal(b.worstCaseFenceMs, 3 * 1000 + 1000 + 500 + 1000);
  assert.equal(b.limitMs, 28_000);
  assert.equal(guardConfigFromYaml({}).enabled, false);
});

test('guard config: every problem names its key', () => {
  assert.equal(
    keyOf(() => guardConfigFromYaml({ enabled: true, sentinels: base.sentinels })),
    'guard.zookeeper.servers',
  );
  assert.equal(
    keyOf(() => guardConfigFromYaml({ enabled: true, zookeeper: base.zookeeper })),
    'guard.sentinels.addresses',
  );
  assert.equal(
    keyOf(() => guardConfigFromYaml({ ...base, zookeeper: { servers: 'zk:notaport' } })),
    'guard.zookeeper.servers[0]',
  );
  assert.equal(
    keyOf(() => guardConfigFromYaml({ ...base, sentinels: { addresses: ['a:1', 'a:1'] } })),
    'guard.sentinels.addresses',
  );
  assert.equal(
    keyOf(() => guardConfigFromYaml({ ...base, zookeeper: { ...base.zookeeper, probeInterval: 'soon' } })),
    'guard.zookeeper.probeInterval',
  );
  assert.equal(
    keyOf(() => guardConfigFromYaml({ ...base, zookeeper: { ...base.zookeeper, probeTimeout: '1s', sessionTimeout: '1s' } })),
    'guard.zookeeper.sessionTimeout',
  );
  // down-after 6 s − margin 2 s = 4 s < 3 × 1 s + 1 s + 0.5 s + 1 s = 5.5 s
  const err = (() => {
    try {
      guardConfigFromYaml({ ...base, sentinels: { ...base.sentinels, downAfter: '6s' } });
    } catch (e) {
      return e as ConfigError;
    }
    return undefined;
  })();
  assert.equal(err?.key, 'guard.sentinels.downAfter');
  assert.match(err!.message, /5500 ms, which must be below downAfter \(6000 ms\) − margin \(2000 ms\) = 4000 ms/);
  // The same budget passes once it fits.
  assert.equal(guardConfigFromYaml({ ...base, sentinels: { ...base.sentinels, downAfter: '8s' } }).sentinels.downAfterMs, 8000);
  // A disabled guard is not held to the budget.
  assert.equal(guardConfigFromYaml({ sentinels: { downAfter: '1s' } }).enabled, false);
});

test('ACL LIST lines: rules kept in order, selectors stay one token', () => {
  assert.deepEqual(parseAclLine('user default on nopass sanitize-payload ~* &* +@all'), {
    name: 'default',
    rules: ['on', 'nopass', 'sanitize-payload', '~*', '&*', '+@all'],
  });
  assert.deepEqual(parseAclLine('user app on #ab12 ~app:* resetchannels -@all +get (~x:* +set %R~y) (+ping)'), {
    name: 'app',
    rules: ['on', '#ab12', '~app:*', 'resetchannels', '-@all', '+get', '(~x:* +set %R~y)', '(+ping)'],
  });
  assert.throws(() => parseAclLine('garbage'), /unexpected ACL LIST line/);
});

const view = (address: string, flags = 'master', epoch = 3) => ({
  name: 'g1',
  address,
  flags: flags.split(','),
  configEpoch: epoch,
  downAfterMs: 30_000,
  replicas: 1,
  otherSentinels: 2,
  quorum: 2,
});
function round(answers: Array<ReturnType<typeof view> | null>, total = answers.length): SentinelRound {
  const r: SentinelRound = { atMs: 0, total, majority: Math.floor(total / 2) + 1, answers: new Map(), errors: new Map() };
  answers.forEach((v, i) => {
    if (v) r.answers.set(`s${i}`, new Map([['g1', v]]));
    else r.errors.set(`s${i}`, 'no answer within 250 ms');
  });
  return r;
}

test('failsafe: a majority must answer, each naming this instance a clean master at one epoch', () => {
  const me = '10.0.0.5:6379';
  assert.equal(failsafeVerdict(round([view(me), view(me), null]), 'g1', me).ok, true);
  assert.match(
    (failsafeVerdict(round([view(me), null, null]), 'g1', me) as { reason: string }).reason,
    /only 1\/3 Sentinels answered \(need 2\)/,
  );
  assert.match(
    (failsafeVerdict(round([view(me), view(me, 'master,s_down')]), 'g1', me) as { reason: string }).reason,
    /flags g1 master,s_down/,
  );
  assert.match(
    (failsafeVerdict(round([view(me), view('10.0.0.6:6379')]), 'g1', me) as { reason: string }).reason,
    /names 10\.0\.0\.6:6379 master/,
  );
  assert.match(
    (failsafeVerdict(round([view(me), view(me, 'master', 4)]), 'g1', me) as { reason: string }).reason,
    /disagree on the config epoch/,
  );
  // Not monitored by any answering Sentinel (an idle instance): no failover can race it.
  assert.match(
    (failsafeVerdict(round([view('x:1'), view('x:1'), null]), undefined, me) as { detail: string }).detail,
    /2\/3 Sentinels answered and none monitors/,
  );
  assert.equal(failsafeVerdict(round([null, null, view(me)]), undefined, me).ok, false);
  // The Sentinels know the host by its announced IP.
  assert.equal(failsafeVerdict(round([view('10.0.0.5:6379'), view('10.0.0.5:6379')]), 'g1', '127.0.0.1:6379', '10.0.0.5').ok, true);
});

test('rightful master: highest config epoch among a majority; ties on different masters are no answer', () => {
  const r = rightfulMaster(round([view('a:1', 'master', 3), view('b:2', 'master', 4), null]), 'g1');
  assert.deepEqual(r, { known: true, address: 'b:2', configEpoch: 4, clean: true, voters: 2 });
  assert.equal(rightfulMaster(round([view('a:1'), null, null]), 'g1').known, false);
  assert.equal(rightfulMaster(round([view('a:1', 'master', 4), view('b:2', 'master', 4)]), 'g1').known, false);
  const failing = rightfulMaster(round([view('b:2', 'master,failover_in_progress', 5), view('a:1', 'master', 4)]), 'g1');
  assert.equal(failing.known && failing.clean, false);
});

test('Sentinel messages: the instance and master each event is about', () => {
  assert.deepEqual(parseSentinelMessage('+switch-master', 'g1 10.0.0.5 6379 10.0.0.6 6379'), {
    instance: '10.0.0.6:6379',
    masterName: 'g1',
    attrs: { master: 'g1', old: '10.0.0.5:6379', new: '10.0.0.6:6379' },
  });
  assert.deepEqual(parseSentinelMessage('+sdown', 'master g1 10.0.0.5 6379'), {
    instance: '10.0.0.5:6379',
    masterName: 'g1',
    attrs: { type: 'master', name: 'g1', master: 'g1' },
  });
  assert.deepEqual(parseSentinelMessage('+sdown', 'slave 10.0.0.6:6379 10.0.0.6 6379 @ g1 10.0.0.5 6379'), {
    instance: '10.0.0.6:6379',
    masterName: 'g1',
    attrs: { type: 'slave', name: '10.0.0.6:6379', master: 'g1' },
  });
  assert.deepEqual(parseSentinelMessage('+tilt', '#tilt mode entered'), { instance: '', masterName: '', attrs: {} });
});

test('Codis group znode: default path and first server as the master', () => {
  assert.equal(masterZnodeFor({ cluster: 'demo', group: '7', options: undefined }), '/codis3/demo/group/group-0007');
  assert.equal(masterZnodeFor({ cluster: 'orders', group: 'group-0012', options: undefined }), '/codis3/orders/group/group-0012');
  assert.equal(masterZnodeFor({ cluster: 'demo', group: 'x', options: undefined }), undefined);
  assert.equal(masterZnodeFor({ cluster: '', group: '', options: { masterZnode: '/my/master' } }), '/my/master');
  assert.equal(
    parseMasterZnode(Buffer.from('{"id":1,"servers":[{"server":"10.0.0.5:6379"},{"server":"10.0.0.6:6379"}]}')),
    '10.0.0.5:6379',
  );
  assert.equal(parseMasterZnode(Buffer.from(' 10.0.0.9:6380\n')), '10.0.0.9:6380');
  assert.equal(parseMasterZnode(Buffer.from('{"id":1,"servers":[]}')), null);
});

test('guard state → one guard point per instance with the host-wide ZooKeeper view', () => {
  const v: GuardView = {
    zkState: 'unreachable',
    zkSinceMs: 1000,
    zkConsecutiveFailures: 4,
    zkLastOkMs: 900,
    zkLastError: 'no answer',
    zkClientsCreated: 5,
    zkWorkersStarted: 1,
    zkLastWorkerError: '',
    sentinelsTotal: 3,
    sentinelsAnswered: 1,
    sentinelRoundAtMs: 1100,
    mode: 'acl',
    loops: 9,
    budgetWorstCaseMs: 5500,
    budgetLimitMs: 28_000,
    instances: [
      {
        address: '127.0.0.1:6379',
        phase: 'fenced',
        role: 'master',
        fenced: true,
        fencedSinceMs: 1050,
        fenceReason: 'ZooKeeper unreachable',
        fenceMode: 'acl',
        sentinelName: 'g1',
      },
    ],
  };
  const points = reportPoints(
    {
      seq: 1,
      timestampMs: 2000,
      redis: [],
      proxies: [],
      events: [],
      guard: guardViewToProto(v),
    } as never,
    { hostId: 'h1', labels: {} },
  );
  const g = points.filter((p) => p.measurement === 'guard');
  assert.equal(g.length, 1);
  assert.equal(g[0]!.tags.instance, '127.0.0.1:6379');
  assert.deepEqual(
    {
      phase: g[0]!.fields.phase,
      fenced: g[0]!.fields.fenced,
      since: g[0]!.fields.fenced_since_ms,
      zk: g[0]!.fields.zk_state,
      failures: g[0]!.fields.zk_consecutive_failures,
      answered: g[0]!.fields.sentinels_answered,
    },
    { phase: 'fenced', fenced: 1, since: 1050, zk: 'unreachable', failures: 4, answered: 1 },
  );
});

test('agent config: guard section and redis[].guard options resolve; misuse names the key', async () => {
  const { resolveAgentConfig } = await import('../agent/config.js');
  process.env.RF_GUARD_UNIT_TOKEN = 't';
  const agentBase = { collector: { addresses: ['127.0.0.1:1'], tokenEnv: 'RF_GUARD_UNIT_TOKEN' }, statusFile: '' };
  const c = resolveAgentConfig({
    ...agentBase,
    redis: [{ address: '127.0.0.1:6379', user: 'fleet', cluster: 'demo', group: '3', guard: { sentinelName: 'demo-3' } }],
    guard: { ...base, stateDir: '/tmp/x' },
  });
  assert.equal(c.guard.enabled, true);
  assert.equal(c.redis[0]!.guard?.sentinelName, 'demo-3');
  assert.equal(
    keyOf(() => resolveAgentConfig({ ...agentBase, guard: base })),
    'guard.enabled',
  );
  assert.equal(
    keyOf(() => resolveAgentConfig({ ...agentBase, roles: ['proxy'], redis: [{ address: '127.0.0.1:6379' }], guard: base })),
    'guard.enabled',
  );
  assert.match(
    keyOf(() => resolveAgentConfig({ ...agentBase, redis: [{ address: '127.0.0.1:6379', guard: { masterZnode: 'relative' } }] })),
    /redis\[0\]\.guard/,
  );
  assert.match(
    keyOf(() => resolveAgentConfig({ ...agentBase, guard: { ...base, fence: { mode: 'pause' } } })),
    /guard\.fence\.mode/,
  );
});
