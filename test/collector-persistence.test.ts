// The collector's side of the persistence scheduler: the agent's real state → proto mapping turned
// into `persistence` points (one per instance, pinned types, tagged like the instance's redis
// sample) and into the API's persistence block; malformed persistence input is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reportPoints } from '../collector/index.js';
import { PersistenceViews } from '../collector/persistence-view.js';
import { reportProblem } from '../collector/validate.js';
import { persistenceStateToProto, type PersistenceState, type InstanceState } from '../agent/persistence/index.js';
import { MEASUREMENTS, intValue } from '../proto/index.js';
import { makeReport, redisSample } from './collector-support.js';

const src = { hostId: 'storage-01', labels: { idc: 'sz-a' } };
const A = '127.0.0.1:17379';
const B = '127.0.0.1:17380';
const C = '127.0.0.1:17381';
const T0 = 1_795_345_400_000;

const policy = { savePoints: [{ seconds: 900, changes: 1 }], aofRewritePercentage: 100, aofRewriteMinSize: 64 << 20, rdbBackups: true };
const inst = (o: Partial<InstanceState>): InstanceState => ({
  managed: true,
  up: true,
  role: 'master',
  policy,
  policySource: 'instance',
  cowEstimateBytes: 150 << 20,
  rdbLastSaveAt: T0 - 60_000,
  rdbChangesSinceLastSave: 42,
  ...o,
});

/** A: running an agent RDB save (token), finished an AOF rewrite before. B: queued, failed last time. C: opted out. */
function schedulerState(): PersistenceState {
  return {
    tokenHolder: A,
    token: { address: A, kind: 'rdb', origin: 'agent', since: T0, pending: false },
    queue: [
      {
        address: B,
        kind: 'aof',
        reason: 'aof-growth',
        urgency: 2,
        overdue: false,
        onMaster: false,
        estimateBytes: 1 << 20,
        estimateBasis: 'history',
        waiting: 'token',
      },
    ],
    memAvailableBytes: 20e9,
    forksRunning: 1,
    loops: 17,
    instances: {
      [A]: inst({
        aofGrowthPercent: 12.5,
        running: { kind: 'rdb', origin: 'agent', startedAt: T0, reason: 'save-point', currentCowBytes: 3 << 20 },
        lastFork: { kind: 'aof', origin: 'agent', startedAt: T0 - 5000, durationMs: 1234, cowBytes: 2 << 20, result: 'ok' },
      }),
      [B]: inst({
        role: 'slave',
        lastFork: {
          kind: 'rdb',
          origin: 'agent',
          startedAt: T0 - 9000,
          durationMs: 80,
          cowBytes: 0,
          result: 'error',
          error: 'Error moving temp DB file temp-1.rdb on the final destination dump.rdb: Is a directory',
        },
      }),
      [C]: inst({ managed: false, unmanagedReason: 'opt-out', up: false, error: 'connect ECONNREFUSED 127.0.0.1:17381' }),
    },
  };
}

function report() {
  const r = makeReport(3, {
    timestampMs: T0 + 500,
    redis: [redisSample({ address: A }), redisSample({ address: B, role: 'slave', group: 'g2' }), redisSample({ address: C })],
  });
  r.persistence = persistenceStateToProto(schedulerState());
  return r;
}

test('one persistence point per instance with every schema field in its pinned type, tagged like the redis sample', () => {
  const points = reportPoints(report(), src).filter((p) => p.measurement === 'persistence');
  assert.equal(points.length, 3);
  const def = MEASUREMENTS.persistence!;
  const seen = new Set<string>();
  for (const p of points) {
    assert.equal(p.time, T0 + 500);
    for (const t of Object.keys(p.tags)) assert.ok(def.tags.includes(t), `unlisted tag ${t}`);
    for (const [f, v] of Object.entries(p.fields)) {
      const fd = def.fields[f];
      assert.ok(fd, `persistence.${f} is not in the schema`);
      if (fd.type === 'string') assert.equal(typeof v, 'string', f);
      else if (fd.type === 'int') assert.ok(Number.isInteger(v), `${f} = ${String(v)}`);
      else assert.equal(typeof v, 'number', f);
      seen.add(f);
    }
  }
  for (const f of Object.keys(def.fields)) assert.ok(seen.has(f), `persistence.${f} never produced`);
  const by = new Map(points.map((p) => [p.tags.instance, p]));
  const a = by.get(A)!;
  assert.deepEqual(a.tags, { host: 'storage-01', idc: 'sz-a', instance: A, role: 'master', cluster: 'c1', group: 'g1' });
  assert.equal(a.fields.token, 1);
  assert.equal(a.fields.running, 1);
  assert.equal(a.fields.running_kind, 'rdb');
  assert.equal(a.fields.last_fork_result, 'ok');
  assert.equal(a.fields.last_fork_duration_ms, 1234);
  assert.equal(a.fields.policy_save, '900 1');
  assert.equal(a.fields.queue_position, 0);
  const b = by.get(B)!;
  assert.equal(b.tags.role, 'slave');
  assert.equal(b.tags.group, 'g2');
  assert.equal(b.fields.token, 0);
  assert.equal(b.fields.running, 0);
  assert.equal(b.fields.queue_position, 1);
  assert.equal(b.fields.queued, 'aof');
  assert.equal(b.fields.last_fork_result, 'error');
  assert.match(String(b.fields.last_fork_error), /Is a directory/);
  assert.equal(by.get(C)!.fields.management, 'opt-out');
  assert.equal(a.fields.management, 'managed');
});

test('the API block: token holder, queue, per-instance last fork and management; cleared by a report without a scheduler', () => {
  const views = new PersistenceViews();
  views.update('storage-01', report(), T0 + 600);
  const block = views.hostBlock('storage-01')!;
  assert.equal(block.tokenHolder, A);
  assert.deepEqual(block.token, { instance: A, kind: 'rdb', origin: 'agent', since: new Date(T0).toISOString(), pending: false });
  assert.deepEqual(block.queue, [{ kind: 'aof', instance: B }]);
  assert.equal(block.forksRunning, 1);
  assert.deepEqual(
    block.instances.map((i) => [i.address, i.management]),
    [
      [A, 'managed'],
      [B, 'managed'],
      [C, 'opt-out'],
    ],
  );
  const a = block.instances[0]!;
  assert.deepEqual(a.running, { kind: 'rdb', origin: 'agent', since: new Date(T0).toISOString(), cowBytes: 3 << 20 });
  assert.deepEqual(a.lastFork, {
    kind: 'aof',
    origin: 'agent',
    startedAt: new Date(T0 - 5000).toISOString(),
    durationMs: 1234,
    cowBytes: 2 << 20,
    result: 'ok',
    error: null,
  });
  assert.deepEqual(a.policy, {
    save: '900 1',
    aofRewritePercentage: 100,
    aofRewriteMinSize: 64 << 20,
    rdbBackups: true,
    source: 'instance',
  });
  assert.equal(block.instances[1]!.lastFork?.result, 'error');
  assert.deepEqual(block.instances[1]!.queued, ['aof']);
  assert.equal(block.instances[2]!.running, null);
  assert.deepEqual(views.hostIds(), ['storage-01']);

  views.update('storage-01', makeReport(4), T0 + 700);
  assert.equal(views.hostBlock('storage-01'), null);
  assert.deepEqual(views.hostIds(), []);
});

test('malformed persistence input is refused with a sentence naming the field', () => {
  assert.equal(reportProblem(report()), null);
  const long = report();
  long.persistence!.tokenHolder = 'x'.repeat(300);
  assert.match(reportProblem(long)!, /^report\.persistence\.tokenHolder is longer than 256/);
  const emptyQueue = report();
  emptyQueue.persistence!.queue = [''];
  assert.match(reportProblem(emptyQueue)!, /^report\.persistence\.queue\[0\] is empty/);
  const many = report();
  for (let n = 0; n < 20_001; n++) many.persistence!.fields[`h:${n}/x`] = intValue(n);
  assert.match(reportProblem(many)!, /^report\.persistence\.fields has \d+ entries \(at most 20000\)/);
});
