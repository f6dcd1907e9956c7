// The persistence scheduler's decision logic, without servers: INFO parsing, token, due jobs,
// ordering, COW estimate, admission, fork observation, config, state → proto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  parseInfo,
  forkActivity,
  tokenHolder,
  forksRunning,
  dueJobs,
  orderQueue,
  estimateCow,
  admits,
  pickNext,
  observeForks,
  classifyStartReply,
  mastersBackedUpByReplica,
  parseSavePoints,
  formatSavePoints,
  learnTriggers,
  effectivePolicy,
  triggersOn,
  recordCow,
  resolveConfig,
  configFromYaml,
  instanceOptionsFromYaml,
  persistenceStateToProto,
  aofGrowthPercent,
  type PersistenceInfo,
  type PersistencePolicy,
  type QueueEntry,
  type PersistenceState,
  type Job,
} from '../agent/persistence/index.js';
import { failureFromLog, logPath } from '../agent/persistence/redis-log.js';
import { PolicyStore } from '../agent/persistence/policy-store.js';
import { fleetService, valueOf, type AgentMessage, type Report } from '../proto/index.js';
import { ConfigError } from '../common/index.js';
import { readFixture } from './fixtures.js';

const fixture = (f: string) => readFixture('redis', f);

const NOW = 1_795_400_000_000;
const BASE: Record<string, string | number> = {
  run_id: 'r1',
  process_id: 100,
  config_file: '',
  role: 'master',
  loading: 0,
  async_loading: 0,
  rdb_bgsave_in_progress: 0,
  aof_rewrite_in_progress: 0,
  module_fork_in_progress: 0,
  aof_rewrite_scheduled: 0,
  rdb_changes_since_last_save: 0,
  rdb_last_save_time: NOW / 1000,
  rdb_last_bgsave_status: 'ok',
  rdb_last_bgsave_time_sec: -1,
  rdb_current_bgsave_time_sec: -1,
  rdb_saves: 0,
  rdb_last_cow_size: 0,
  aof_enabled: 0,
  aof_last_rewrite_time_sec: -1,
  aof_current_rewrite_time_sec: -1,
  aof_last_bgrewrite_status: 'ok',
  aof_rewrites: 0,
  aof_last_cow_size: 0,
  current_cow_size: 0,
  current_cow_size_age: 0,
  used_memory_rss: 100_000_000,
  total_forks: 0,
};
function info(over: Record<string, string | number> = {}): PersistenceInfo {
  const all = { ...BASE, ...over };
  return parseInfo(
    Object.entries(all)
      .map(([k, v]) => `${k}:${v}`)
      .join('\r\n'),
  );
}
const POLICY: PersistencePolicy = {
  savePoints: [{ seconds: 60, changes: 100 }],
  aofRewritePercentage: 100,
  aofRewriteMinSize: 1000,
  rdbBackups: true,
};
const due = (i: PersistenceInfo, over: Partial<Parameters<typeof dueJobs>[0]> = {}) =>
  dueJobs({
    address: 'a:1',
    info: i,
    policy: POLICY,
    nowMs: NOW,
    maxRdbAgeMs: 3_600_000,
    backupRequested: false,
    backupsOnReplica: false,
    ...over,
  });

test('INFO fixtures parse into the fields the scheduler reads', () => {
  const m = parseInfo(fixture('info-all-master-7.0.15.txt'));
  assert.equal(m.role, 'master');
  assert.equal(m.processId, 4323);
  assert.equal(m.rdbChangesSinceLastSave, 971957);
  assert.equal(m.rdbLastCowSize, 475136);
  assert.equal(m.rdbLastBgsaveTimeSec, 0);
  assert.equal(m.totalForks, 1);
  assert.deepEqual(m.replicas, [{ ip: '127.0.0.1', port: 17380, state: 'online' }]);
  assert.equal(m.rdbBgsaveInProgress, false);
  const r = parseInfo(fixture('info-all-replica-7.0.15.txt'));
  assert.equal(r.role, 'slave');
  assert.equal(`${r.masterHost}:${r.masterPort}`, '127.0.0.1:17379');
  assert.equal(r.masterLinkUp, true);
  assert.equal(r.masterSyncInProgress, false);
});

test('fork activity: running flags, and pending for a scheduled rewrite or a replica waiting for its sync child', () => {
  assert.deepEqual(forkActivity(info()), { running: null, pending: false });
  assert.deepEqual(forkActivity(info({ rdb_bgsave_in_progress: 1 })), { running: 'rdb', pending: false });
  assert.deepEqual(forkActivity(info({ aof_rewrite_in_progress: 1 })), { running: 'aof', pending: false });
  assert.deepEqual(forkActivity(info({ module_fork_in_progress: 1 })), { running: 'module', pending: false });
  assert.deepEqual(forkActivity(info({ rdb_bgsave_in_progress: 1, aof_rewrite_scheduled: 1 })), { running: 'rdb', pending: true });
  assert.deepEqual(forkActivity(info({ slave0: 'ip=127.0.0.1,port=7,state=wait_bgsave,offset=0,lag=0' })), {
    running: null,
    pending: true,
  });
  assert.deepEqual(forkActivity(info({ slave0: 'ip=127.0.0.1,port=7,state=online,offset=0,lag=0' })), { running: null, pending: false });
});

test('the token goes to a running child before a pending fork, in configuration order', () => {
  const idle = { running: null, pending: false };
  assert.equal(tokenHolder([{ address: 'a', activity: idle }, { address: 'b' }]), undefined);
  assert.deepEqual(
    tokenHolder([
      { address: 'a', activity: { running: null, pending: true } },
      { address: 'b', activity: { running: 'aof', pending: false } },
    ]),
    { address: 'b', kind: 'aof', pending: false },
  );
  assert.deepEqual(tokenHolder([{ address: 'a', activity: { running: null, pending: true } }]), {
    address: 'a',
    kind: 'unknown',
    pending: true,
  });
  assert.equal(forksRunning([{ activity: { running: 'rdb', pending: false } }, { activity: { running: 'aof', pending: false } }, {}]), 2);
});

test('save points parse and format like Redis, and malformed ones are rejected', () => {
  assert.deepEqual(parseSavePoints('3600 1 300 100 60 10000'), [
    { seconds: 3600, changes: 1 },
    { seconds: 300, changes: 100 },
    { seconds: 60, changes: 10000 },
  ]);
  assert.deepEqual(parseSavePoints(''), []);
  assert.equal(formatSavePoints(parseSavePoints(' 900  1 ')), '900 1');
  assert.throws(() => parseSavePoints('900'), /pairs/);
  assert.throws(() => parseSavePoints('x 1'), /non-negative integers/);
});

test('the operator policy is learned from triggers found on and kept while they are off', () => {
  const first = learnTriggers(undefined, { save: '3600 1', aofRewritePercentage: 100, aofRewriteMinSize: 64 });
  assert.deepEqual(first, { save: '3600 1', aofRewritePercentage: 100, source: 'instance' });
  const afterTakeover = learnTriggers(first, { save: '', aofRewritePercentage: 0, aofRewriteMinSize: 64 });
  assert.deepEqual(afterTakeover, first, 'our own "off" does not erase the policy');
  const operatorChangedSave = learnTriggers(afterTakeover, { save: '60 5', aofRewritePercentage: 0, aofRewriteMinSize: 64 });
  assert.deepEqual(operatorChangedSave, { save: '60 5', aofRewritePercentage: 100, source: 'instance' });
  assert.deepEqual(learnTriggers(undefined, { save: '', aofRewritePercentage: 0, aofRewriteMinSize: 1 }), {
    save: '',
    aofRewritePercentage: 0,
    source: 'observed-off',
  });
  const recorded = { save: '900 1', aofRewritePercentage: 50, source: 'recorded' as const };
  assert.deepEqual(learnTriggers(recorded, { save: '', aofRewritePercentage: 0, aofRewriteMinSize: 1 }), recorded);
  assert.equal(triggersOn({ save: '', aofRewritePercentage: 0 }), false);
  assert.equal(triggersOn({ save: '', aofRewritePercentage: 10 }), true);

  const p = effectivePolicy(first, 64 << 20);
  assert.deepEqual(p, {
    savePoints: [{ seconds: 3600, changes: 1 }],
    aofRewritePercentage: 100,
    aofRewriteMinSize: 64 << 20,
    rdbBackups: true,
  });
  assert.equal(
    effectivePolicy({ save: '', aofRewritePercentage: 100, source: 'instance' }, 1).rdbBackups,
    false,
    'no save points → not a backup target',
  );
  const o = effectivePolicy(first, 1, { savePoints: [], rdbBackups: true, aofRewritePercentage: 0 });
  assert.deepEqual(o, { savePoints: [], aofRewritePercentage: 0, aofRewriteMinSize: 1, rdbBackups: true });
});

test('RDB save points: due only when both the changes and the age are reached', () => {
  const ago = (s: number) => NOW / 1000 - s;
  assert.deepEqual(due(info({ rdb_changes_since_last_save: 99, rdb_last_save_time: ago(120) })), []);
  assert.deepEqual(due(info({ rdb_changes_since_last_save: 500, rdb_last_save_time: ago(30) })), []);
  const [j] = due(info({ rdb_changes_since_last_save: 500, rdb_last_save_time: ago(120) }));
  assert.equal(j!.kind, 'rdb');
  assert.equal(j!.reason, 'save-point');
  assert.equal(j!.urgency, 2, 'min(500/100, 120/60)');
  assert.equal(j!.overdue, false);
  // `save 60 0` in Redis saves every 60 s even without changes.
  assert.equal(due(info({ rdb_last_save_time: ago(61) }), { policy: { ...POLICY, savePoints: [{ seconds: 60, changes: 0 }] } }).length, 1);
});

test('max-age objective and cron backups, and masters defer them to a local replica', () => {
  const ago = (s: number) => NOW / 1000 - s;
  const [j0] = due(info({ rdb_changes_since_last_save: 5, rdb_last_save_time: ago(7200) }));
  assert.deepEqual([j0!.reason, j0!.overdue, j0!.urgency], ['max-age', true, 2], 'age / maxRdbAge, with too few changes for a save point');
  const old = info({ rdb_changes_since_last_save: 500, rdb_last_save_time: ago(7200) });
  const [j] = due(old);
  assert.deepEqual([j!.reason, j!.overdue, j!.urgency], ['max-age', true, 5], "the save point's urgency min(500/100, 7200/60) is larger");
  assert.deepEqual(
    due(info({ rdb_changes_since_last_save: 0, rdb_last_save_time: ago(7200) })).filter((x) => x.reason === 'max-age'),
    [],
    'nothing changed: the old RDB is current',
  );
  assert.deepEqual(
    due(info({ rdb_changes_since_last_save: 5, rdb_last_save_time: ago(10) }), { backupRequested: true }).map((x) => x.reason),
    ['backup'],
  );
  assert.deepEqual(
    due(old, { backupsOnReplica: true }).map((x) => x.reason),
    ['save-point'],
    'save points still apply',
  );
  assert.deepEqual(
    due(info({ rdb_changes_since_last_save: 5, rdb_last_save_time: ago(10) }), { backupRequested: true, backupsOnReplica: true }),
    [],
  );
  assert.deepEqual(due(old, { policy: { ...POLICY, rdbBackups: false, savePoints: [] } }), []);
});

test('AOF rewrites by growth over the base, above the minimum size', () => {
  const aof = (cur: number, base: number) => info({ aof_enabled: 1, aof_current_size: cur, aof_base_size: base });
  assert.equal(aofGrowthPercent(aof(3000, 1000)), 200);
  const [j] = due(aof(3000, 1000));
  assert.deepEqual([j!.kind, j!.reason, j!.urgency], ['aof', 'aof-growth', 2]);
  assert.deepEqual(due(aof(1900, 1000)), [], 'growth 90% < 100%');
  assert.deepEqual(due(aof(900, 100)), [], 'below auto-aof-rewrite-min-size');
  assert.deepEqual(due(aof(5000, 1000), { policy: { ...POLICY, aofRewritePercentage: 0 } }), []);
  assert.deepEqual(due(info({ aof_enabled: 0, aof_current_size: 5000, aof_base_size: 1000 })), []);
});

test('never fork an instance that is loading or in a full sync', () => {
  const busy = {
    rdb_changes_since_last_save: 500,
    rdb_last_save_time: NOW / 1000 - 120,
    aof_enabled: 1,
    aof_current_size: 9000,
    aof_base_size: 1000,
  };
  assert.equal(due(info(busy)).length, 2);
  assert.deepEqual(due(info({ ...busy, loading: 1 })), []);
  assert.deepEqual(due(info({ ...busy, async_loading: 1 })), []);
  assert.deepEqual(due(info({ ...busy, role: 'slave', master_sync_in_progress: 1 })), []);
});

test("queue order: overdue first, masters' RDB saves after replicas', then urgency", () => {
  const j = (address: string, kind: 'rdb' | 'aof', urgency: number, onMaster: boolean, overdue = false): Job => ({
    address,
    kind,
    reason: kind === 'aof' ? 'aof-growth' : overdue ? 'max-age' : 'save-point',
    urgency,
    overdue,
    onMaster,
  });
  const q = orderQueue([
    j('m1', 'rdb', 9, true),
    j('r1', 'rdb', 1.5, false),
    j('m2', 'aof', 3, true),
    j('m3', 'rdb', 1.1, true, true),
    j('r2', 'rdb', 4, false),
  ]);
  assert.deepEqual(
    q.map((x) => `${x.kind}@${x.address}`),
    ['rdb@m3', 'rdb@r2', 'aof@m2', 'rdb@r1', 'rdb@m1'],
  );
  const tie = orderQueue([j('b', 'rdb', 1, false), j('a', 'rdb', 1, false), j('a', 'aof', 1, false)]);
  assert.deepEqual(
    tie.map((x) => `${x.kind}@${x.address}`),
    ['aof@a', 'rdb@a', 'rdb@b'],
  );
});

test('a master with an in-sync managed replica on this host leaves backups to it', () => {
  const m = info({ role: 'master' });
  const r = info({ role: 'slave', master_host: '127.0.0.1', master_port: 7001, master_link_status: 'up' });
  const set = mastersBackedUpByReplica([
    { address: '127.0.0.1:7001', managed: true, up: true, info: m },
    { address: '127.0.0.1:7002', managed: true, up: true, info: r },
    { address: '127.0.0.1:7003', managed: true, up: true, info: m },
  ]);
  assert.deepEqual([...set], ['127.0.0.1:7001']);
  const linkDown = info({ role: 'slave', master_host: '127.0.0.1', master_port: 7001, master_link_status: 'down' });
  assert.equal(
    mastersBackedUpByReplica([
      { address: '127.0.0.1:7001', managed: true, up: true, info: m },
      { address: '127.0.0.1:7002', managed: true, up: true, info: linkDown },
    ]).size,
    0,
  );
  assert.equal(
    mastersBackedUpByReplica([
      { address: '127.0.0.1:7001', managed: true, up: true, info: m },
      { address: '127.0.0.1:7002', managed: false, up: true, info: r },
    ]).size,
    0,
    'an unmanaged replica does not take backups',
  );
});

test('COW estimate: recent history times the safety factor, else a fraction of RSS', () => {
  let h = { rdb: [] as number[], aof: [] as number[] };
  assert.deepEqual(estimateCow('rdb', h, 1000, 1.5, 0.5), { bytes: 500, basis: 'rss' });
  h = recordCow(h, 'rdb', 100, 3);
  h = recordCow(h, 'rdb', 300, 3);
  h = recordCow(h, 'rdb', 200, 3);
  assert.deepEqual(estimateCow('rdb', h, 1000, 1.5, 0.5), { bytes: 450, basis: 'history' });
  assert.deepEqual(estimateCow('aof', h, 1000, 2, 0.5), { bytes: 600, basis: 'history' }, 'the other kind copies the same dataset');
  h = recordCow(h, 'rdb', 50, 3);
  assert.deepEqual(h.rdb, [300, 200, 50], 'only the last N are kept');
});

test('admission: MemAvailable minus the reserve must cover the estimate; the first admitted job starts', () => {
  assert.equal(admits(100, 1100, 1000), true);
  assert.equal(admits(101, 1100, 1000), false);
  const e = (address: string, estimateBytes: number): QueueEntry => ({
    address,
    kind: 'rdb',
    reason: 'save-point',
    urgency: 1,
    overdue: false,
    onMaster: false,
    estimateBytes,
    estimateBasis: 'history',
  });
  const r = pickNext([e('big', 500), e('small', 50), e('other', 10)], 1100, 1000);
  assert.equal(r.start?.address, 'small');
  assert.deepEqual(
    r.blocked.map((b) => b.address),
    ['big'],
  );
  const none = pickNext([e('big', 500)], 1100, 1000);
  assert.equal(none.start, undefined);
  assert.equal(none.blocked.length, 1);
});

test('fork observation: foreign starts, our child ending with its COW, failures, kills, missed forks, restarts', () => {
  const first = observeForks(undefined, info({ total_forks: 3 }), NOW);
  assert.equal(first.started, undefined);
  assert.equal(first.restarted, false);

  // Someone else's RDB child (e.g. a replica full sync) appears: foreign, started ~2 s ago.
  const f = observeForks(first.tracker, info({ total_forks: 4, rdb_bgsave_in_progress: 1, rdb_current_bgsave_time_sec: 2 }), NOW);
  assert.equal(f.started?.origin, 'foreign');
  assert.equal(f.started?.startedAt, NOW - 2000);
  assert.equal(f.missed, undefined);
  const fEnd = observeForks(f.tracker, info({ total_forks: 4, rdb_last_cow_size: 777 }), NOW + 3000);
  assert.deepEqual(fEnd.ended, { kind: 'rdb', origin: 'foreign', startedAt: NOW - 2000, durationMs: 5000, cowBytes: 777, result: 'ok' });

  // Our own child: the scheduler records the start, the next polls see it run and end.
  const ours = {
    ...fEnd.tracker,
    running: { kind: 'aof' as const, origin: 'agent' as const, startedAt: NOW, currentCowBytes: 0 },
    agentStarts: { rdb: 0, aof: 1 },
  };
  const mid = observeForks(ours, info({ total_forks: 5, aof_rewrite_in_progress: 1, current_cow_size: 4096 }), NOW + 500);
  assert.equal(mid.started, undefined);
  assert.equal(mid.missed, undefined, 'our own fork is not a missed one');
  assert.equal(mid.tracker.running?.currentCowBytes, 4096);
  const failed = observeForks(mid.tracker, info({ total_forks: 5, aof_last_bgrewrite_status: 'err', aof_last_cow_size: 1 }), NOW + 1000);
  assert.equal(failed.ended?.result, 'error');
  assert.equal(failed.ended?.cowBytes, 4096, 'a failed child reports its last seen COW');

  const killedT = {
    ...failed.tracker,
    running: { kind: 'rdb' as const, origin: 'agent' as const, startedAt: NOW, currentCowBytes: 10, killed: true },
    agentStarts: { rdb: 1, aof: 0 },
  };
  assert.equal(observeForks(killedT, info({ total_forks: 6 }), NOW + 100).ended?.result, 'killed');

  // Two forks came and went between polls without being seen (an operator's BGSAVE).
  const missed = observeForks(failed.tracker, info({ total_forks: 7, rdb_saves: 2 }), NOW + 2000);
  assert.deepEqual(missed.missed, { count: 2, kind: 'rdb' });

  // Restart while a child ran: a new run_id ends the old child as failed.
  const running = { ...failed.tracker, running: { kind: 'rdb' as const, origin: 'agent' as const, startedAt: NOW, currentCowBytes: 5 } };
  const re = observeForks(running, info({ run_id: 'r2', total_forks: 0 }), NOW + 5000);
  assert.equal(re.restarted, true);
  assert.equal(re.ended?.result, 'error');
  assert.match(re.ended!.error!, /restarted/);
  assert.equal(re.tracker.totalForks, 0);

  // Our BGREWRITEAOF answered "scheduled": the child that later appears is ours.
  const sched = { ...first.tracker, agentAofScheduled: true };
  const s = observeForks(sched, info({ total_forks: 4, aof_rewrite_in_progress: 1 }), NOW);
  assert.equal(s.started?.origin, 'agent');
  assert.equal(s.tracker.agentAofScheduled, false);
});

test('Redis replies: busy is not a failure, scheduled is pending', () => {
  assert.equal(classifyStartReply('Background saving started'), 'started');
  assert.equal(classifyStartReply('Background append only file rewriting started'), 'started');
  assert.equal(classifyStartReply('Background append only file rewriting scheduled'), 'scheduled');
  assert.equal(classifyStartReply('ERR Background save already in progress'), 'busy');
  assert.equal(classifyStartReply('ERR Background append only file rewriting already in progress'), 'busy');
  assert.equal(
    classifyStartReply(
      "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
    ),
    'busy',
  );
  assert.equal(classifyStartReply('MISCONF Errors writing to the AOF file'), 'failed');
  assert.equal(classifyStartReply("NOPERM this user has no permissions to run the 'bgsave' command"), 'failed');
});

test('config: defaults, and bad values name their key', () => {
  const c = resolveConfig({});
  assert.equal(c.loopIntervalMs, 1000);
  assert.equal(c.cowSafetyFactor, 1.5);
  assert.equal(c.rssFractionWithoutHistory, 0.5);
  assert.equal(c.floorAction, 'alert');
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    return 'no error';
  };
  assert.equal(
    err(() => resolveConfig({ cowSafetyFactor: 0.5 })),
    'persistence.cowSafetyFactor: must be at least 1 (got 0.5)',
  );
  assert.equal(
    err(() => resolveConfig({ floorAction: 'panic' as 'kill' })),
    'persistence.floorAction: must be one of alert, kill',
  );
  assert.match(
    err(() => resolveConfig({ backupCron: 'every night' })),
    /^persistence\.backupCron: is not a valid cron expression/,
  );
  assert.match(
    err(() => resolveConfig({ backupTimezone: 'Mars/Olympus' })),
    /^persistence\.backupTimezone: /,
  );
  assert.equal(
    err(() => resolveConfig({ bogus: 1 } as never)),
    'persistence.bogus: unknown key',
  );
  const y = configFromYaml({
    loopInterval: '2s',
    reserve: '1gb',
    floor: 1024,
    maxRdbAge: '12h',
    backupCron: '0 30 3 * * *',
    floorAction: 'kill',
  });
  assert.equal(y.loopIntervalMs, 2000);
  assert.equal(y.reserveBytes, 1024 ** 3);
  assert.equal(y.floorBytes, 1024);
  assert.equal(y.maxRdbAgeMs, 12 * 3600_000);
  assert.equal(y.floorAction, 'kill');
  assert.match(
    err(() => configFromYaml({ reserve: 'lots' })),
    /^persistence\.reserve: must be a size/,
  );
  assert.match(
    err(() => configFromYaml({ loopInterval: 'soon' })),
    /^persistence\.loopInterval: must be a duration/,
  );
  const inst = instanceOptionsFromYaml({ optOut: true, save: '900 1', aofRewriteMinSize: '64mb' }, 'redis[0].persistence');
  assert.deepEqual(inst, {
    optOut: true,
    policyOverride: { savePoints: [{ seconds: 900, changes: 1 }], aofRewriteMinSize: 64 * 1024 * 1024 },
  });
  assert.match(
    err(() => instanceOptionsFromYaml({ save: '900' }, 'redis[0].persistence')),
    /^redis\[0\]\.persistence\.save: /,
  );
});

test("Redis's own failure words are read from its log: the child's lines first", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pers-log-'));
  try {
    const file = path.join(dir, 'redis.log');
    fs.writeFileSync(file, '1:M 22 Nov 2026 18:00:00.000 # an older warning\n');
    const offset = fs.statSync(file).size;
    fs.appendFileSync(
      file,
      [
        '1:M 22 Nov 2026 18:44:00.100 * Background saving started by pid 7',
        '7:C 22 Nov 2026 18:44:00.120 # Failed opening the temp RDB file temp-7.rdb (in server root dir /x) for saving: No such file or directory',
        '1:M 22 Nov 2026 18:44:00.200 # Background saving error',
        '',
      ].join('\n'),
    );
    assert.equal(
      failureFromLog(file, offset),
      'Failed opening the temp RDB file temp-7.rdb (in server root dir /x) for saving: No such file or directory',
    );
    const offset2 = fs.statSync(file).size;
    fs.appendFileSync(file, '1:M 22 Nov 2026 18:45:00.000 # Background AOF rewrite terminated with error\n');
    assert.equal(failureFromLog(file, offset2), 'Background AOF rewrite terminated with error', "no child line: the parent's warning");
    assert.equal(failureFromLog('', 0), undefined);
    assert.equal(logPath('redis.log', '/var/lib/redis'), '/var/lib/redis/redis.log');
    assert.equal(logPath('', '/var/lib/redis'), '');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the original triggers survive an agent restart in the state file; a corrupt file is a clear error', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pers-store-'));
  try {
    const file = path.join(dir, 'sub', 'policy.json');
    const a = new PolicyStore(file);
    assert.equal(a.get('x:1'), undefined);
    assert.deepEqual(a.put('x:1', { save: '900 1', aofRewritePercentage: 100, source: 'instance' }), { written: true });
    assert.deepEqual(
      a.put('x:1', { save: '900 1', aofRewritePercentage: 100, source: 'instance' }),
      { written: false },
      'already recorded',
    );
    assert.deepEqual(new PolicyStore(file).get('x:1'), { save: '900 1', aofRewritePercentage: 100, source: 'recorded' });
    fs.writeFileSync(file, '{not json');
    assert.throws(() => new PolicyStore(file), /not valid JSON.*fix or remove it/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a state file write that failed is retried by the next put with the same triggers', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pers-store-'));
  try {
    const file = path.join(dir, 'sub', 'policy.json');
    const a = new PolicyStore(file);
    // A file where the directory should be: the write fails even for root.
    fs.writeFileSync(path.join(dir, 'sub'), '');
    const t = { save: '900 1', aofRewritePercentage: 100, source: 'instance' } as const;
    const failed = a.put('x:1', t);
    assert.equal(failed.written, false);
    assert.match(failed.error ?? '', /^cannot write .*policy\.json/);
    assert.equal(a.get('x:1'), undefined, 'not recorded while the file is not written');
    fs.rmSync(path.join(dir, 'sub'));
    assert.deepEqual(a.put('x:1', t), { written: true });
    assert.deepEqual(new PolicyStore(file).get('x:1'), { save: '900 1', aofRewritePercentage: 100, source: 'recorded' });
    assert.deepEqual(fs.readdirSync(path.join(dir, 'sub')), ['policy.json'], 'no temporary file left behind');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('state → PersistenceState survives the wire codec', () => {
  const state: PersistenceState = {
    tokenHolder: '127.0.0.1:7001',
    token: { address: '127.0.0.1:7001', kind: 'rdb', origin: 'foreign', since: NOW, pending: false },
    queue: [
      {
        address: '127.0.0.1:7002',
        kind: 'aof',
        reason: 'aof-growth',
        urgency: 2,
        overdue: false,
        onMaster: true,
        estimateBytes: 5e9,
        estimateBasis: 'rss',
        waiting: 'token',
      },
    ],
    memAvailableBytes: 20e9,
    forksRunning: 1,
    loops: 7,
    instances: {
      '127.0.0.1:7001': {
        managed: true,
        up: true,
        role: 'master',
        policy: POLICY,
        policySource: 'instance',
        cowEstimateBytes: 150,
        rdbLastSaveAt: NOW,
        rdbChangesSinceLastSave: 3,
        running: { kind: 'rdb', origin: 'foreign', startedAt: NOW, currentCowBytes: 4096 },
        lastFork: {
          kind: 'rdb',
          origin: 'agent',
          startedAt: NOW - 9000,
          durationMs: 2100,
          cowBytes: 2 ** 33 + 1,
          result: 'error',
          error: 'No space left on device',
        },
      },
      '127.0.0.1:7002': {
        managed: false,
        unmanagedReason: 'CONFIG SET refused: NOPERM',
        up: true,
        role: 'slave',
        policy: POLICY,
        policySource: 'observed-off',
        cowEstimateBytes: 0,
        rdbLastSaveAt: NOW,
        rdbChangesSinceLastSave: 0,
        aofGrowthPercent: 12.5,
      },
    },
  };
  const proto = persistenceStateToProto(state);
  const connect = (
    fleetService() as unknown as { service: { Connect: { requestSerialize(v: unknown): Buffer; requestDeserialize(b: Buffer): unknown } } }
  ).service.Connect;
  const report: Report = { seq: 1, timestampMs: NOW, redis: [], proxies: [], events: [], persistence: proto };
  const back = (connect.requestDeserialize(connect.requestSerialize({ report } as AgentMessage)) as { report: Report }).report.persistence!;
  assert.equal(back.tokenHolder, '127.0.0.1:7001');
  assert.deepEqual(back.queue, ['aof@127.0.0.1:7002']);
  const v = (k: string) => valueOf(back.fields[k]);
  assert.equal(v('forks_running'), 1);
  assert.equal(v('token_origin'), 'foreign');
  assert.equal(v('127.0.0.1:7001/last_fork_cow_bytes'), 2 ** 33 + 1);
  assert.equal(v('127.0.0.1:7001/last_fork_result'), 'error');
  assert.equal(v('127.0.0.1:7001/last_fork_error'), 'No space left on device');
  assert.equal(v('127.0.0.1:7001/running_origin'), 'foreign');
  assert.equal(v('127.0.0.1:7001/policy_save'), '60 100');
  assert.equal(v('127.0.0.1:7002/managed'), 0);
  assert.equal(v('127.0.0.1:7002/unmanaged_reason'), 'CONFIG SET refused: NOPERM');
  assert.equal(v('127.0.0.1:7002/queued'), 'aof');
  assert.equal(v('127.0.0.1:7002/aof_growth_percent'), 12.5);
  assert.equal((back.fields['127.0.0.1:7002/managed'] as { kind?: string }).kind, 'int');
});
