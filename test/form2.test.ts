// Report form 2 (proto/form2.ts): the same INFO capture through form 1 and form 2, over the
// real codecs both sides use, gives the same points and the same line protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  encodeAgentMessage,
  fleetService,
  formProblem,
  REDIS_FIELD_NAMES,
  SCHEMA_FINGERPRINT,
  decodeRedisSamples,
  decodeLazySamples,
  encodeRedisSamples,
  fieldReader,
  infoPicker,
  plainSample,
  valueOf,
  form2Sample,
  infoReader,
  sampleInfo,
  schemaFingerprint,
  withoutSlowlog,
  Form2Columns,
  REDIS_FIELD_INDEX,
  type RedisSample,
  type Report,
} from '../proto/index.js';
import { reportPoints, type Point } from '../collector/points.js';
import { encodeLines } from '../collector/line-protocol.js';
import { reportLines } from '../collector/report-lines.js';
import { reportBatch } from '../collector/batch.js';
import { Store } from '../collector/store.js';
import { AlertTable } from '../collector/alerting/alerts.js';
import { SqliteAlertingStore } from '../collector/alerting/store.js';
import { Evaluator, builtinRules, compileRules, type Rule } from '../collector/alerting/rules/index.js';
import { fixtureSample } from './form2-support.js';
import { fixturePath } from './fixtures.js';
import { parseInfoColumns, InfoPicks } from '../agent/index.js';

const connect = (fleetService() as unknown as { service: { Connect: { requestDeserialize(b: Buffer): { report: Report } } } }).service
  .Connect;

const base = (): Omit<Report, 'redis'> => ({ seq: 1, timestampMs: 1_795_345_417_766, proxies: [], events: [] });

test('form 2 carries the same samples as form 1: equal points and line protocol after the real codecs, in fewer bytes', () => {
  const samples = [
    fixtureSample('master', '10.0.0.1:6379'),
    fixtureSample('replica', '10.0.0.1:6380'),
    { ...fixtureSample('master', '10.0.0.1:6381'), up: false, error: 'connection refused', info: {} },
  ];
  const v1Bytes = encodeAgentMessage({ report: { ...base(), redis: samples } });
  const v2Bytes = encodeAgentMessage({ report: { ...base(), redis: [], redisV2: encodeRedisSamples(samples) } });
  const v1 = connect.requestDeserialize(v1Bytes).report;
  const v2 = connect.requestDeserialize(v2Bytes).report;
  assert.equal(v2.redis.length, 0);
  const decoded = decodeRedisSamples(v2.redisV2 as Buffer);
  assert.equal(decoded.schema, SCHEMA_FINGERPRINT);
  const unpacked = decoded.samples;
  const src = { hostId: 'h1', labels: { idc: 'bj' } };
  const p1 = reportPoints(v1, src);
  const p2 = reportPoints({ ...v2, redis: unpacked, redisV2: null }, src);
  assert.ok(p1.length > 40, `expected many points, got ${p1.length}`);
  assert.deepEqual(p2, p1);
  // field order differs (form 2 groups INFO by type); line protocol does not care: compare in name order
  const sorted = (ps: typeof p1) =>
    ps.map((p) => ({ ...p, fields: Object.fromEntries(Object.entries(p.fields).sort(([a], [b]) => (a < b ? -1 : 1))) }));
  assert.equal(encodeLines(sorted(p2)).lines.toString(), encodeLines(sorted(p1)).lines.toString());
  // the fields the schema does not list survive, each with its value
  const info = unpacked[0]!.info;
  assert.equal((info.future_counter as { int: number }).int, 7);
  assert.equal((info.future_ratio as { float: number }).float, 0.25);
  assert.equal((info.future_text as { str: string }).str, 'say "hi" \\ ok');
  assert.ok(v2Bytes.length < v1Bytes.length, `form 2 ${v2Bytes.length} bytes vs form 1 ${v1Bytes.length}`);
});

/** `s` split on `sep` where it is neither escaped nor inside a quoted string (line protocol). */
function splitLine(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      cur += c + (s[i + 1] ?? '');
      i++;
    } else if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else {
      if (c === '"') quoted = !quoted;
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

/** Line protocol with each line's fields in name order, lines sorted: equal when InfluxDB stores the same. */
function canonical(lines: Buffer): string[] {
  return lines
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [series, fields, time, ...rest] = splitLine(l, ' ');
      assert.equal(rest.length, 0, `one series, one field set, one time: ${l}`);
      return `${series} ${splitLine(fields!, ',').sort().join(',')} ${time}`;
    })
    .sort();
}

test('the direct line-protocol path writes what the points write, from both forms, and the rules get the fields they read', () => {
  const samples = [
    fixtureSample('master', '10.0.0.1:6379'),
    { ...fixtureSample('replica', '10.0.0.1:6380'), group: 'g=2 x', role: 'slave' },
    { ...fixtureSample('master', '10.0.0.1:6381'), up: false, error: 'connection "refused"', info: {}, unavailable: ['INFO', 'SLOWLOG'] },
    // INFO carrying fields the collector sets itself (its own value wins), and a bad number
    {
      ...fixtureSample('master', '10.0.0.1:6382'),
      info: { ...fixtureSample('master', '10.0.0.1:6382').info, maxclients: { int: 5 }, up: { str: 'x' }, used_memory: { str: 'junk' } },
      errorstats: [{ error: 'ERR x,y', count: 2 }],
    },
  ];
  const src = { hostId: 'h 1', labels: { idc: 'bj,1' } };
  const events = [{ kind: 'redis.restart', instance: '10.0.0.1:6379', message: 'restarted', timestampMs: 1_795_345_417_100, attrs: {} }];
  const v1 = { ...base(), redis: samples, events };
  const v2 = { ...base(), redis: decodeRedisSamples(encodeRedisSamples(samples)).samples, events };
  const viaPoints = encodeLines(reportPoints(v1, src));
  for (const r of [v1, v2]) {
    const direct = reportLines(r, src);
    assert.equal(direct.points, viaPoints.points);
    assert.deepEqual(canonical(direct.lines), canonical(viaPoints.lines));
    assert.ok(canonical(direct.lines).some((l) => l.startsWith('redis_slowlog,')));
  }
  // The rules' points: only the measurements and fields named, the same values and tags.
  const need = (m: string) => (m === 'redis' ? new Set(['connected_clients', 'maxclients']) : m === 'event' ? ('all' as const) : undefined);
  const all = reportPoints(v2, src);
  const ruled = reportBatch(v2, src).rulePoints(need);
  assert.deepEqual(
    ruled.map((p) => p.measurement),
    all.filter((p) => p.measurement === 'redis' || p.measurement === 'event').map((p) => p.measurement),
  );
  const redis = (ps: Point[]) => ps.filter((p) => p.measurement === 'redis');
  redis(ruled).forEach((p, i) => {
    const full = redis(all)[i]!;
    assert.deepEqual(p.tags, full.tags);
    assert.equal(p.fields.connected_clients, full.fields.connected_clients);
    assert.equal(p.fields.maxclients, full.fields.maxclients);
    assert.equal(p.fields.used_memory_rss, undefined);
  });
  assert.equal(redis(ruled)[3]!.fields.maxclients, 10000, 'the sample-level maxclients wins over INFO');
});

test('the evaluator asks for the measurements and fields its rules name, and the rules decide the same on them', () => {
  const store = Store.open(':memory:');
  try {
    const rules = builtinRules({ enabled: true, disable: [], overrides: {} });
    const evaluator = new Evaluator(new AlertTable(new SqliteAlertingStore(store.db)), rules);
    const redisNeed = evaluator.need('redis');
    assert.ok(redisNeed instanceof Set);
    for (const f of ['up', 'connected_clients', 'maxclients', 'headroom_used_ratio', 'master_link_status']) assert.ok(redisNeed.has(f), f);
    assert.ok(redisNeed.size < 30, `a few fields, not all: ${redisNeed.size}`);
    assert.equal(evaluator.need('event'), 'all');
    assert.equal(evaluator.need('redis_cmdstat'), undefined);
    // A full report and the rules' points leave the same alerts behind.
    const report = {
      ...base(),
      redis: [
        { ...fixtureSample('master', '10.0.0.1:6379'), maxclients: 1 }, // connected_clients / maxclients > 0.9
        { ...fixtureSample('master', '10.0.0.1:6380'), up: false, error: 'connection refused', info: {} }, // down
        fixtureSample('replica', '10.0.0.1:6381'),
      ],
    };
    const src = { hostId: 'h1', labels: {} };
    const states = (points: Point[]) => {
      const s2 = Store.open(':memory:');
      try {
        const table = new AlertTable(new SqliteAlertingStore(s2.db));
        new Evaluator(table, rules).onPoints(points, 1_795_345_417_766);
        return table
          .all()
          .map((a) => `${a.labels.alertname} ${a.state} ${a.value}`)
          .sort();
      } finally {
        s2.close();
      }
    };
    const viaAll = states(reportPoints(report, src));
    assert.ok(
      viaAll.some((a) => a.startsWith('RedisClientsHigh pending')),
      viaAll.join('; '),
    );
    assert.ok(
      viaAll.some((a) => a.startsWith('RedisInstanceDown')),
      viaAll.join('; '),
    );
    assert.deepEqual(states(reportBatch(report, src).rulePoints(evaluator.need)), viaAll);
  } finally {
    store.close();
  }
});

test('the schema fingerprint follows the field list, and a mismatch or an unnegotiated form is refused in words', () => {
  assert.equal(schemaFingerprint(), SCHEMA_FINGERPRINT);
  assert.notEqual(schemaFingerprint(REDIS_FIELD_NAMES.slice(1)), SCHEMA_FINGERPRINT);
  assert.notEqual(schemaFingerprint([...REDIS_FIELD_NAMES.slice(1), REDIS_FIELD_NAMES[0]!]), SCHEMA_FINGERPRINT);
  assert.equal(formProblem(SCHEMA_FINGERPRINT, true), null);
  assert.match(formProblem(SCHEMA_FINGERPRINT ^ 1, true)!, /different metric schemas/);
  assert.match(formProblem(SCHEMA_FINGERPRINT, false)!, /did not negotiate report form 2/);
});

test('malformed form-2 bytes are an error naming the offset, never a misread sample', () => {
  const good = encodeRedisSamples([fixtureSample('master', '10.0.0.1:6379')]);
  assert.equal(decodeRedisSamples(good).samples.length, 1);
  for (const cut of [3, 10, 100, good.length - 1])
    assert.throws(() => decodeRedisSamples(good.subarray(0, cut)), /(truncated|beyond|overrun).* at byte \d+/);
  assert.throws(() => decodeRedisSamples(Buffer.from([0x12, 0x05, 0x0f])), /at byte/);
});

/** Samples whose INFO map would not follow their columns' order: a name twice, an array-index name. */
function oddSamples(): RedisSample[] {
  const { info: _info, commandstats: _c, latencystats: _l, ...fields } = fixtureSample('master', '10.0.0.9:1');
  const twice = new Form2Columns();
  twice.int(REDIS_FIELD_INDEX.get('connected_clients')!, 1);
  twice.int(REDIS_FIELD_INDEX.get('used_memory')!, 2);
  twice.int(REDIS_FIELD_INDEX.get('connected_clients')!, 3);
  const schemaNameUnindexed = new Form2Columns();
  schemaNameUnindexed.int(REDIS_FIELD_INDEX.get('connected_clients')!, 1);
  schemaNameUnindexed.otherFloat('connected_clients', 4.5);
  const indexLike = new Form2Columns();
  indexLike.int(REDIS_FIELD_INDEX.get('connected_clients')!, 1);
  indexLike.otherInt('17', 9);
  // an unindexed name in two by-name columns: the later column's value is the map's
  indexLike.otherInt('future_both', 1);
  indexLike.otherStr('future_both', 'text');
  indexLike.otherFloat('future_both', 2.5);
  // text the line writer copies as bytes only when nothing in it needs escaping or is not ASCII
  const texts = new Form2Columns();
  texts.str(REDIS_FIELD_INDEX.get('redis_version')!, 'q"uote\\back');
  texts.str(REDIS_FIELD_INDEX.get('os')!, 'Linux ☃ ünï');
  texts.int(REDIS_FIELD_INDEX.get('used_memory')!, 2 ** 60);
  texts.float(REDIS_FIELD_INDEX.get('mem_fragmentation_ratio')!, Number.NaN);
  texts.cmd('get', 10, 20, 2, 0, 0);
  texts.cmd('my cmd,=x', 1, Number.POSITIVE_INFINITY, 0.5, 1, 2);
  texts.cmd('ünï', 3, 4, 1.25, 0, 0);
  texts.cmd('', 5, 6, 1.2, 0, 0);
  texts.lat('a\tb', 0.1, 2, 3);
  texts.lat('back\\slash', 1, 2, 3);
  // a name in two by-name columns, and nothing else odd: the later column's value is the map's
  const twiceByName = new Form2Columns();
  twiceByName.otherInt('future_twice', 1);
  twiceByName.otherFloat('future_twice', 2.5);
  // the map is needed only at the second name of the column
  const lateRefusal = new Form2Columns();
  lateRefusal.otherInt('future_first', 1);
  lateRefusal.otherInt('18', 2);
  return [
    form2Sample({ ...fields, address: '10.0.0.9:1' }, twice),
    form2Sample({ ...fields, address: '10.0.0.9:2' }, schemaNameUnindexed),
    form2Sample({ ...fields, address: '10.0.0.9:3' }, indexLike),
    form2Sample({ ...fields, address: '10.0.0.9:4' }, texts),
    form2Sample({ ...fields, address: '10.0.0.9:6' }, twiceByName),
    form2Sample({ ...fields, address: '10.0.0.9:7' }, lateRefusal),
  ];
}

/**
 * A sample whose columns do not travel the way the agent writes them, though protobuf allows it
 * (a packed column in two parts, unpacked doubles, repeated strings apart): read into columns
 * rather than laid out, and answering the same.
 */
function unlaidSample(): RedisSample {
  const varint = (v: number): number[] => {
    const out: number[] = [];
    for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
    return [...out, v];
  };
  const tag = (field: number, wire: number) => varint(field * 8 + wire);
  const bytesOf = (field: number, b: number[]) => [...tag(field, 2), ...varint(b.length), ...b];
  const text = (field: number, t: string) => bytesOf(field, [...Buffer.from(t)]);
  const double = (field: number, v: number) => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    return [...tag(field, 1), ...b];
  };
  const index = (name: string) => varint(REDIS_FIELD_INDEX.get(name)!);
  const body = [
    ...text(1, '10.0.0.9:5'),
    ...tag(4, 0),
    1,
    ...text(7, 'master'),
    ...bytesOf(8, index('connected_clients')),
    ...bytesOf(8, index('used_memory')),
    ...double(9, 7),
    ...double(9, 8),
    ...bytesOf(12, index('redis_version')),
    ...text(13, '7.0.15'),
    ...text(21, 'get'),
    ...double(22, 5),
    ...text(21, 'set'),
    ...double(22, 6),
  ];
  const fingerprint = Buffer.alloc(4);
  fingerprint.writeUInt32LE(SCHEMA_FINGERPRINT);
  const samples = decodeLazySamples(Buffer.from([...tag(1, 5), ...fingerprint, ...bytesOf(2, body)])).samples;
  assert.equal(samples.length, 1);
  assert.deepEqual(sampleInfo(samples[0]!, 'used_memory'), { int: 8 });
  return samples[0]!;
}

/** A master, a replica, an instance down, INFO carrying collector-set fields and a bad number, and the odd samples. */
function variedSamples(): RedisSample[] {
  return [
    fixtureSample('master', '10.0.0.1:6379'),
    { ...fixtureSample('replica', '10.0.0.1:6380'), role: 'slave' },
    { ...fixtureSample('master', '10.0.0.1:6381'), up: false, error: 'down', info: {}, unavailable: ['INFO'] },
    {
      ...fixtureSample('master', '10.0.0.1:6382'),
      info: { ...fixtureSample('master', '10.0.0.1:6382').info, maxclients: { int: 5 }, up: { str: 'x' }, used_memory: { str: 'junk' } },
    },
    ...oddSamples(),
    unlaidSample(),
  ];
}

test('a form-2 sample read lazily is the sample read whole: values, JSON, line protocol byte for byte', () => {
  // the odd ones twice: after a by-name column the line writer has seen, and after one it refused
  const samples = [
    ...variedSamples(),
    fixtureSample('master', '10.0.0.2:6379'),
    oddSamples().at(-1)!,
    fixtureSample('master', '10.0.0.2:6380'),
    ...oddSamples().reverse(),
  ];
  const bytes = encodeRedisSamples(samples);
  const whole = decodeRedisSamples(bytes).samples;
  const src = { hostId: 'h 1', labels: { idc: 'bj,1' } };
  const today = reportLines({ ...base(), redis: whole }, src).lines.toString();
  // fresh lazy samples for each reader: none sees a map another one built
  const lazy = () => decodeLazySamples(bytes).samples;
  assert.equal(reportLines({ ...base(), redis: lazy() }, src).lines.toString(), today);
  assert.equal(JSON.stringify(lazy()), JSON.stringify(whole));
  assert.deepEqual(reportPoints({ ...base(), redis: lazy() }, src), reportPoints({ ...base(), redis: whole }, src));
  const names = [
    ...REDIS_FIELD_INDEX.keys(),
    'master_replid',
    'future_counter',
    'future_text',
    'future_both',
    '17',
    'absent',
    'toString',
    '__proto__',
  ];
  lazy().forEach((s, i) => {
    const w = whole[i]!;
    const f = infoReader(s);
    const g = fieldReader(w.info);
    for (const n of names) {
      assert.deepEqual(sampleInfo(s, n), w.info[n], `${s.address} ${n}`);
      assert.equal(f.str(n), g.str(n));
      assert.equal(f.num(n), g.num(n));
    }
    assert.deepEqual(s.info, w.info);
    assert.deepEqual(s.commandstats, w.commandstats);
    assert.deepEqual(s.latencystats, w.latencystats);
    const latest = withoutSlowlog(s);
    assert.deepEqual(latest.slowlog, []);
    assert.deepEqual(JSON.parse(JSON.stringify(latest)), { ...JSON.parse(JSON.stringify(w)), slowlog: [] });
  });
  // the odd ones did take the map's way: a name twice keeps its first place and its last value
  assert.deepEqual(whole[4]!.info.connected_clients, { int: 3 });
  assert.deepEqual(whole[5]!.info.connected_clients, { float: 4.5 });
  assert.deepEqual(Object.keys(whole[6]!.info)[0], '17');
});

test('infoPicker reads each named INFO field as sampleInfo does, from form 1, lazy form 2 and the odd samples', () => {
  const samples = variedSamples();
  const bytes = encodeRedisSamples(samples);
  const whole = decodeRedisSamples(bytes).samples;
  const names = [...REDIS_FIELD_INDEX.keys(), 'future_counter', 'future_text', '17', 'absent', 'toString'];
  const every = infoPicker(names);
  // a few names in another order: the rules' kind of set
  const few = ['maxclients', 'connected_clients', 'absent', 'future_ratio', 'up', 'role'];
  const some = infoPicker(few);
  let checked = 0;
  for (const [form, list] of [
    ['form 1', samples],
    ['form 2 read whole', whole],
    ['form 2 lazy', decodeLazySamples(bytes).samples],
    ['form 2 lazy, map built', decodeLazySamples(bytes).samples.map((x) => (x.info, x))],
  ] as const)
    list.forEach((s, i) => {
      const map = whole[i]!.info;
      for (const [picker, ns] of [
        [every, names],
        [some, few],
      ] as const) {
        const got = [...picker(s)];
        ns.forEach((n, j) => {
          assert.deepEqual(got[j], valueOf(sampleInfo(s, n)), `${form} ${s.address} ${n}`);
          assert.deepEqual(got[j], valueOf(map[n]), `${form} ${s.address} ${n} as in the map`);
          checked++;
        });
      }
    });
  assert.ok(checked > 4 * 6 * REDIS_FIELD_INDEX.size, `${checked}`);
  // the odd samples answer as their INFO map: the later of a name twice, the unindexed column over the indexed one
  assert.equal(some(decodeLazySamples(bytes).samples[4]!)[1], 3);
  assert.equal(some(decodeLazySamples(bytes).samples[5]!)[1], 4.5);
});

test('the rules decide the same from their own points as from every point, report after report, down to absence and row rules', () => {
  const own = compileRules(
    [
      // no field named: the rules' points must still carry every sample and row
      { name: 'RedisSampleGone', kind: 'absence', measurement: 'redis', for: '1m' },
      { name: 'ReplicaRowGone', kind: 'absence', measurement: 'redis_replica', for: '1m' },
      { name: 'ManyKeys', kind: 'threshold', measurement: 'redis_keyspace', expr: 'keys', op: '>', value: 10 },
      { name: 'ReplicaAckOld', kind: 'threshold', measurement: 'redis_replica', expr: 'lag_seconds', op: '>=', value: 0 },
    ],
    'test',
  );
  // alone, the absence rules name no field of `redis`: the rules' redis points carry none
  const t0 = 1_795_345_417_766;
  const report = (at: number, redis: RedisSample[]): Report => ({ ...base(), timestampMs: at, redis });
  const master = fixtureSample('master', '10.0.0.1:6379');
  const replica = fixtureSample('replica', '10.0.0.1:6380');
  // the same hello object throughout, as one agent stream gives (points.ts keeps its tags per hello)
  const src = { hostId: 'h1', labels: { idc: 'bj' } };
  const reports = [
    report(t0, [{ ...master, maxclients: 1 }, replica]),
    // the replica becomes a master (its role tag changes), the master's replica row is gone
    report(t0 + 10_000, [
      { ...master, replicas: [] },
      { ...replica, role: 'master' },
    ]),
    // the master is down, the other one is gone
    report(t0 + 20_000, [{ ...master, up: false, error: 'refused', info: {}, replicas: [] }]),
  ];
  const run = (rules: Rule[], points: (r: Report) => Point[]) => {
    const store = Store.open(':memory:');
    try {
      const table = new AlertTable(new SqliteAlertingStore(store.db));
      const evaluator = new Evaluator(table, rules);
      const seen: string[] = [];
      const state = () =>
        table
          .all()
          .map((a) => `${a.labels.alertname} ${JSON.stringify(a.labels)} ${a.state} ${a.value}`)
          .sort()
          .join('\n');
      for (const r of reports) {
        evaluator.onPoints(points(r), r.timestampMs);
        evaluator.tick(r.timestampMs);
        seen.push(state());
      }
      // 59 s after the last report: the master is still there, the other sample and the replica row are not
      evaluator.tick(t0 + 79_000);
      seen.push(state());
      return { seen, need: evaluator.need };
    } finally {
      store.close();
    }
  };
  for (const rules of [[...builtinRules({ enabled: true, disable: [], overrides: {} }), ...own], own]) {
    const viaAll = run(rules, (r) => reportPoints(r, src)).seen;
    const need = run(rules, () => []).need;
    for (const form of ['form 1', 'form 2']) {
      const viaRules = run(rules, (r) =>
        reportBatch(form === 'form 1' ? r : { ...r, redis: decodeLazySamples(encodeRedisSamples(r.redis)).samples }, src).rulePoints(need),
      ).seen;
      assert.deepEqual(viaRules, viaAll, `${form}, ${rules.length} rules`);
    }
    const fired = viaAll.at(-1)!;
    const firing = (name: string, instance: string) =>
      fired.split('\n').some((l) => l.startsWith(`${name} `) && l.includes(`"instance":"${instance}"`) && l.includes(' firing '));
    assert.ok(firing('RedisSampleGone', '10.0.0.1:6380'), fired);
    assert.ok(!firing('RedisSampleGone', '10.0.0.1:6379'), fired);
    assert.ok(firing('ReplicaRowGone', '10.0.0.1:6379'), fired);
    assert.ok(firing('ManyKeys', '10.0.0.1:6379') && firing('ReplicaAckOld', '10.0.0.1:6379'), fired);
  }
});

test('a lazily read sample with malformed columns is refused when the report is read', () => {
  const good = encodeRedisSamples([fixtureSample('master', '10.0.0.1:6379')]);
  assert.equal(decodeLazySamples(good).samples.length, 1);
  for (const cut of [3, 10, 100, good.length - 1])
    assert.throws(() => decodeLazySamples(good.subarray(0, cut)), /(truncated|beyond|overrun).* at byte \d+/);
});

test('the state store keeps a form-2 latest sample as its bytes and reads it back, beside JSON rows of form 1', () => {
  const store = Store.open(':memory:');
  try {
    const [lazy] = decodeLazySamples(encodeRedisSamples([fixtureSample('master', '10.0.0.1:6379')])).samples;
    const plain = fixtureSample('replica', '10.0.0.1:6380');
    const rec = (s: RedisSample) => ({ id: `h1/${s.address}`, host: 'h1', address: s.address, receivedAt: 5, sample: s });
    store.saveState([], [rec(lazy!), rec(plain)], []);
    const kinds = store.db.prepare<{ t: string }>('SELECT typeof(sample) AS t FROM instances ORDER BY id').all();
    assert.deepEqual(
      kinds.map((k) => k.t),
      ['blob', 'text'],
    );
    const back = store.loadInstances().sort((a, b) => (a.id < b.id ? -1 : 1));
    assert.deepEqual(JSON.parse(JSON.stringify(back[0]!.sample)), JSON.parse(JSON.stringify(withoutSlowlog(lazy!))));
    assert.deepEqual(back[0]!.sample.slowlog, []);
    assert.deepEqual(back[1]!.sample, { ...JSON.parse(JSON.stringify(plain)), slowlog: [] });
    // bytes another schema wrote are left out (their indexes name other fields)
    store.db
      .prepare('UPDATE instances SET sample = ? WHERE id = ?')
      .run(encodeRedisSamples([lazy!], SCHEMA_FINGERPRINT ^ 1), 'h1/10.0.0.1:6379');
    assert.deepEqual(
      store.loadInstances().map((i) => i.address),
      ['10.0.0.1:6380'],
    );
  } finally {
    store.close();
  }
});

test("plainSample of a form-2 sample equals its toJSON(): the agent's sample from the real capture and a lazily read one", () => {
  for (const kind of ['master', 'replica'] as const) {
    const text = fs.readFileSync(path.join(fixturePath('redis'), `info-all-${kind}-7.0.15.txt`), 'utf8');
    const cols = new Form2Columns();
    const rows = parseInfoColumns(text, cols, new InfoPicks(['used_memory']));
    // the agent's way (agent/redis/instance.ts): the parse's columns and rows, every other field set
    const { info: _i, commandstats: _c, latencystats: _l, ...fields } = fixtureSample(kind, '10.0.0.1:6379');
    const agentSample = form2Sample(
      { ...fields, role: rows.role, replicas: rows.replicas, keyspace: rows.keyspace, errorstats: rows.errorstats },
      cols,
    );
    const lazy = decodeLazySamples(encodeRedisSamples([agentSample])).samples[0]!;
    for (const [what, s] of [
      ['agent', agentSample],
      ['lazy', lazy],
    ] as const) {
      const json = (s as RedisSample & { toJSON(): RedisSample }).toJSON();
      const plain = plainSample(s);
      assert.notEqual(plain, s, `${what}: a copy`);
      assert.ok(Object.keys(json.info).length > 100 && json.commandstats.length > 0 && json.slowlog.length === 1, what);
      assert.deepStrictEqual(plain, json, `${kind} ${what}`);
      // The same keys in the same order, down to INFO's, but for the agent's own objects (its
      // headroom's keys in the order it built them; the bytes read back give the reader's order).
      const text = (x: RedisSample) => JSON.stringify({ ...x, headroom: null });
      assert.ok(text(plain) === text(json), `${kind} ${what}: key order`);
      if (what === 'lazy') assert.ok(JSON.stringify(plain) === JSON.stringify(json), `${kind} ${what}: key order`);
    }
  }
});
