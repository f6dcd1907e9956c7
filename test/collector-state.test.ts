// The fleet state and its SQLite rows (collector/state.ts, store.ts): what persist() writes is what
// a restarted collector loads, through reports of the same instances (rows updated in place) and of
// fewer (a vanished instance's row deleted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createLogger } from '../common/index.js';
import { FleetState, INSTANCE_ROW_EVERY_MS } from '../collector/state.js';
import { Store } from '../collector/store.js';
import { decodeLazySamples, encodeRedisSamples, sampleInfo, type Report } from '../proto/index.js';
import { harness } from './harness/index.js';
import { makeHello, makeReport, redisSample } from './collector-support.js';

const logger = createLogger('collector-state-test', 'error');
const T0 = 1_795_000_000_000;

/** A report whose Redis samples arrived in form 2, as the gRPC server hands them to the state. */
function form2Report(seq: number, at: number, addresses: string[]): Report {
  const samples = addresses.map((address, i) => redisSample({ address, sampledAtMs: at, info: { connected_clients: { int: 10 + i } } }));
  return { ...makeReport(seq, { timestampMs: at }), redis: decodeLazySamples(encodeRedisSamples(samples)).samples };
}

function reopened(file: string): { hosts: ReturnType<Store['loadHosts']>; instances: ReturnType<Store['loadInstances']> } {
  const s = Store.open(file);
  try {
    return { hosts: s.loadHosts(), instances: s.loadInstances() };
  } finally {
    s.close();
  }
}

test('state rows: an instance row is written when new, rewritten once a minute or at shutdown, deleted when the instance goes; a restart loads what was written', async (t) => {
  const h = await harness(t);
  const file = path.join(await h.tempDir('collector-state'), 'collector.db');
  const store = Store.open(file);
  t.after(() => store.close());
  const state = new FleetState(store, { hostDownAfterIntervals: 3 }, logger);
  const A = '10.0.0.1:6379';
  const B = '10.0.0.1:6380';
  state.hello(makeHello('db-1'), T0);

  const EVERY = INSTANCE_ROW_EVERY_MS;
  state.report('db-1', form2Report(1, T0, [A, B]), T0 + 10);
  state.persist(T0 + 10);
  let back = reopened(file);
  assert.deepEqual(back.instances.map((i) => [i.id, i.host, i.address, i.receivedAt]).sort(), [
    [`db-1/${A}`, 'db-1', A, T0 + 10],
    [`db-1/${B}`, 'db-1', B, T0 + 10],
  ]);
  assert.equal(back.hosts[0]!.lastSeq, 1);

  // The same instances in the same order: the host row follows at once, the instance rows when a
  // minute has passed since they were written.
  const list = state.host('db-1')!.instances;
  state.report('db-1', form2Report(2, T0 + 1000, [A, B]), T0 + 1010);
  assert.deepEqual(state.host('db-1')!.instances, [A, B]);
  assert.equal(state.host('db-1')!.instances, list, 'an unchanged instance list is kept');
  state.persist(T0 + 1010);
  back = reopened(file);
  assert.equal(back.hosts[0]!.lastSeq, 2);
  assert.deepEqual(back.instances.map((i) => [i.id, i.receivedAt]).sort(), [
    [`db-1/${A}`, T0 + 10],
    [`db-1/${B}`, T0 + 10],
  ]);
  state.persist(T0 + 10 + EVERY);
  back = reopened(file);
  assert.deepEqual(back.instances.map((i) => [i.id, i.receivedAt, i.sample.sampledAtMs]).sort(), [
    [`db-1/${A}`, T0 + 1010, T0 + 1000],
    [`db-1/${B}`, T0 + 1010, T0 + 1000],
  ]);
  assert.deepEqual(sampleInfo(back.instances.find((i) => i.address === B)!.sample, 'connected_clients'), { int: 11 });
  assert.equal(back.hosts[0]!.lastSeq, 2);
  assert.equal(back.hosts[0]!.reportTimeMs, T0 + 1000);

  // Another order, then one instance fewer: the list follows the report and B's row goes.
  state.report('db-1', form2Report(3, T0 + 2000, [B, A]), T0 + 2010);
  assert.deepEqual(state.host('db-1')!.instances, [B, A]);
  state.report('db-1', form2Report(4, T0 + 3000, [A]), T0 + 3010);
  assert.deepEqual(state.host('db-1')!.instances, [A]);
  assert.deepEqual(
    state.allInstances().map((i) => i.id),
    [`db-1/${A}`],
  );
  state.persist(T0 + 3010 + 2 * EVERY);
  back = reopened(file);
  assert.deepEqual(
    back.instances.map((i) => [i.id, i.receivedAt]),
    [[`db-1/${A}`, T0 + 3010]],
  );
  assert.deepEqual(back.hosts[0]!.instances, [A]);
  assert.equal(back.hosts[0]!.lastSeq, 4);

  // B comes back: its row at once, as a new instance's; A's row is not due yet.
  state.report('db-1', form2Report(5, T0 + 4000, [A, B]), T0 + 4010);
  state.persist(T0 + 4010 + 2 * EVERY);
  assert.deepEqual(
    reopened(file)
      .instances.map((i) => [i.id, i.receivedAt])
      .sort(),
    [
      [`db-1/${A}`, T0 + 3010],
      [`db-1/${B}`, T0 + 4010],
    ],
  );

  // Shutdown writes every row not yet due.
  state.persist(T0 + 4020 + 2 * EVERY, true);
  assert.deepEqual(
    reopened(file)
      .instances.map((i) => [i.id, i.receivedAt])
      .sort(),
    [
      [`db-1/${A}`, T0 + 4010],
      [`db-1/${B}`, T0 + 4010],
    ],
  );
});

test('cluster: a host the leader marked down and another collector still sees up is said back by the leader once merged, never by a follower, and not while still silent', async (t) => {
  const h = await harness(t);
  const dir = await h.tempDir('collector-state');
  const transitions: string[] = [];
  const member = (name: string, record: boolean) => {
    const store = Store.open(path.join(dir, `${name}.db`));
    t.after(() => store.close());
    return new FleetState(
      store,
      {
        hostDownAfterIntervals: 3,
        shared: true,
        remoteSlackMs: 2000,
        onTransition: record ? (host, status) => transitions.push(`${name}:${host.id}:${status}`) : undefined,
      },
      logger,
    );
  };
  const leader = member('leader', true);
  const follower = member('follower', true);
  const b = member('b', false); // the collector the host reports to
  const copy = () => structuredClone(b.host('db-9')!);

  b.hello(makeHello('db-9'), T0);
  b.report('db-9', makeReport(1, { timestampMs: T0 }), T0);
  leader.mergeRemote([copy()], [], true, T0 + 100);
  follower.mergeRemote([copy()], [], false, T0 + 100);
  // Silent for 3 intervals + the remote slack, as the leader sees it (the sync stalled, say).
  leader.checkTransitions(T0 + 33_000);
  follower.mergeRemote([structuredClone(leader.host('db-9')!)], [], false, T0 + 33_100);
  assert.deepEqual(transitions, ['leader:db-9:down']);
  assert.equal(follower.host('db-9')!.status, 'down');

  // b never saw it down (its stream stayed open): a newer record, still up, but already silent again.
  b.report('db-9', makeReport(2, { timestampMs: T0 + 31_000 }), T0 + 31_000);
  leader.mergeRemote([copy()], [], true, T0 + 70_000);
  assert.deepEqual(transitions, ['leader:db-9:down'], 'still silent: no up, no flap');
  assert.equal(leader.host('db-9')!.status, 'down');
  leader.checkTransitions(T0 + 70_000);
  assert.deepEqual(transitions, ['leader:db-9:down'], 'and no second down');

  // Reporting again through b: the leader says it is back; a follower merging the same record says nothing.
  b.report('db-9', makeReport(3, { timestampMs: T0 + 80_000 }), T0 + 80_000);
  follower.mergeRemote([copy()], [], false, T0 + 80_500);
  leader.mergeRemote([copy()], [], true, T0 + 80_500);
  assert.deepEqual(transitions, ['leader:db-9:down', 'leader:db-9:up']);
  assert.equal(leader.host('db-9')!.status, 'up');
  assert.equal(follower.host('db-9')!.status, 'up');
});
