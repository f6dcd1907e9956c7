// Pure pieces of the agent on real captures: the INFO parser, rates, headroom,
// capacity and the /proc parsers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import {
  parseInfo,
  parseInfoColumns,
  InfoPicks,
  typeInfoValue,
  computeRates,
  computeHeadroom,
  rateSnapshot,
  computeCapacity,
  describeRedisError,
  parseProcStat,
  cpuPercent,
  parseLoadavg,
  parseMeminfo,
  parseDiskstats,
  parseNetDev,
  defaultRouteInterface,
  mountFor,
} from '../agent/index.js';
import { Form2Columns, decodeRedisSamples, encodeRedisSamples, form2Sample, valueOf, type RedisSample } from '../proto/index.js';
import { fixturePath } from './fixtures.js';

const FIXTURES = fixturePath('redis');
const master = fs.readFileSync(`${FIXTURES}/info-all-master-7.0.15.txt`, 'utf8');
const replica = fs.readFileSync(`${FIXTURES}/info-all-replica-7.0.15.txt`, 'utf8');

test('fixtures really are CRLF INFO ALL replies', () => {
  assert.ok(master.includes('\r\n'));
  assert.ok(master.startsWith('# Server'));
});

test('INFO values are typed: ints stay ints, decimals and % are floats, the rest strings', () => {
  assert.deepEqual(typeInfoValue('42'), { int: 42 });
  assert.deepEqual(typeInfoValue('-1'), { int: -1 });
  assert.deepEqual(typeInfoValue('3.14'), { float: 3.14 });
  assert.deepEqual(typeInfoValue('0.00'), { float: 0 });
  assert.deepEqual(typeInfoValue('91.00%'), { float: 91 });
  assert.deepEqual(typeInfoValue('ok'), { str: 'ok' });
  assert.deepEqual(typeInfoValue(''), { str: '' });
  assert.deepEqual(typeInfoValue('1.2.3'), { str: '1.2.3' });
  assert.deepEqual(typeInfoValue('99999999999999999999'), { float: 1e20 }, 'beyond the safe range is not an int');
});

test('master fixture: scalars typed, *_human skipped, sections structured', () => {
  const p = parseInfo(master);
  assert.equal(p.role, 'master');
  assert.deepEqual(p.info.used_memory, { int: 5491288 });
  assert.deepEqual(p.info.mem_fragmentation_ratio, { float: 3.14 });
  assert.deepEqual(p.info.used_memory_peak_perc, { float: 91 });
  assert.deepEqual(p.info.redis_version, { str: '7.0.15' });
  assert.deepEqual(p.info.config_file, { str: '' });
  assert.deepEqual(p.info.rdb_current_bgsave_time_sec, { int: -1 });
  assert.deepEqual(p.info.used_cpu_sys, { float: 4.677297 });
  assert.deepEqual(p.info.maxmemory, { int: 0 });
  assert.deepEqual(p.info.maxclients, { int: 10000 });
  assert.equal(p.info.used_memory_human, undefined);
  assert.equal(p.info.maxmemory_human, undefined);
  for (const k of Object.keys(p.info)) {
    assert.ok(!k.startsWith('cmdstat_') && !k.startsWith('slave0') && !/^db\d/.test(k) && !k.startsWith('latency_percentiles'), k);
  }
  // Structured sections.
  assert.deepEqual(p.replicas, [{ id: 'slave0', ip: '127.0.0.1', port: 17380, state: 'online', offset: 64, lagSeconds: 1, lagBytes: 0 }]);
  assert.deepEqual(p.keyspace, [
    { db: 'db0', keys: 20016, expires: 0, avgTtl: 0 },
    { db: 'db1', keys: 1, expires: 0, avgTtl: 0 },
  ]);
  assert.equal(p.commandstats.length, 11);
  assert.deepEqual(
    p.commandstats.find((c) => c.command === 'config|get'),
    { command: 'config|get', calls: 215, usec: 42076, usecPerCall: 195.7, rejectedCalls: 0, failedCalls: 0 },
  );
  assert.equal(p.latencystats.length, 11);
  assert.deepEqual(
    p.latencystats.find((l) => l.command === 'info'),
    { command: 'info', p50: 139.263, p99: 253.951, p999: 313.343 },
  );
  assert.deepEqual(p.errorstats, []);
  // Every fixture line is accounted for.
  const scalarLines = master.split('\r\n').filter((l) => l && !l.startsWith('#') && !l.includes('_human:'));
  const structured = p.replicas.length + p.keyspace.length + p.commandstats.length + p.latencystats.length + p.errorstats.length;
  assert.equal(Object.keys(p.info).length + structured, scalarLines.length);
});

test('replica fixture: role slave, offsets, no replicas', () => {
  const p = parseInfo(replica);
  assert.equal(p.role, 'slave');
  assert.deepEqual(p.info.master_link_status, { str: 'up' });
  assert.deepEqual(p.info.slave_repl_offset, { int: 64 });
  assert.deepEqual(p.info.master_port, { int: 17379 });
  assert.deepEqual(p.info.slave_read_repl_offset, { int: 64 }, 'slave_* fields are scalars, not replica lines');
  assert.deepEqual(p.replicas, []);
});

test('replica byte lag = master_repl_offset - offset; errorstats and LF input', () => {
  const text = [
    '# Replication',
    'role:master',
    'connected_slaves:2',
    'slave0:ip=10.0.0.2,port=6380,state=online,offset=900,lag=0',
    'slave1:ip=10.0.0.3,port=6381,state=wait_bgsave,offset=0,lag=7',
    'master_repl_offset:1000',
    '# Errorstats',
    'errorstat_ERR:count=3',
    'errorstat_WRONGTYPE:count=1',
    '',
  ].join('\n');
  const p = parseInfo(text);
  assert.deepEqual(
    p.replicas.map((r) => [r.id, r.lagBytes, r.lagSeconds, r.state]),
    [
      ['slave0', 100, 0, 'online'],
      ['slave1', 1000, 7, 'wait_bgsave'],
    ],
  );
  assert.deepEqual(p.errorstats, [
    { error: 'ERR', count: 3 },
    { error: 'WRONGTYPE', count: 1 },
  ]);
  assert.deepEqual(p.info.connected_slaves, { int: 2 });
});

test('garbage and partial lines never throw', () => {
  const p = parseInfo('no colon here\r\n:novalue\r\nkey:\r\n\r\n#\r\nslave0:garbage\r\ndbx:keys=1\r\n');
  assert.deepEqual(p.info.key, { str: '' });
  assert.deepEqual(p.info.slave0, { str: 'garbage' });
  assert.deepEqual(p.info.dbx, { str: 'keys=1' });
  assert.equal(parseInfo('').role, '');
});

test('INFO straight into form-2 columns reads exactly what parseInfo reads, through the bytes form 2 sends', () => {
  const odd = [
    'a_int:-0',
    'big:99999999999999999999',
    'long_int:1234567890123456',
    'pct:-5.5%',
    'exp:1e3',
    'bad_exp:1e',
    'dot:1.',
    'lead_dot:.5',
    'plus:+1',
    'dash:-',
    'empty:',
    'used_memory:12.5',
    'maxmemory:text',
    'x_human:1K',
    'slave0:garbage',
    'dbx:keys=1',
    'db0:keys=5,expires=x,avg_ttl=7',
    'cmdstat_get:calls=1,usec=,usec_per_call=0.50,rejected_calls=9999999999999999,failed_calls=2,calls=3',
    'latency_percentiles_usec_get:p50=1.003,p99=2,p99.9=3.5',
    'errorstat_ERR:count=4',
    'role:slave',
    'master_repl_offset:100',
    'slave1:ip=1.2.3.4,port=7,state=online,offset=40,lag=1',
    'no colon',
    ':novalue',
    'naïve_ünicode:välue',
  ].join('\r\n');
  for (const text of [master, replica, odd, '']) {
    const want = parseInfo(text);
    const cols = new Form2Columns();
    const picks = new InfoPicks(['used_memory', 'run_id', 'maxmemory', 'not_there']);
    const rows = parseInfoColumns(text, cols, picks);
    const fields = {
      address: 'a:1',
      cluster: '',
      group: '',
      up: true,
      error: '',
      sampledAtMs: 1,
      role: rows.role,
      replicas: rows.replicas,
      keyspace: rows.keyspace,
      errorstats: rows.errorstats,
      maxmemory: -1,
      maxclients: 0,
      unavailable: [],
      slowlog: [],
    };
    const s = form2Sample(fields, cols);
    assert.deepEqual(s.info, want.info);
    assert.deepEqual(s.commandstats, want.commandstats);
    assert.deepEqual(s.latencystats, want.latencystats);
    assert.deepEqual([rows.role, rows.replicas, rows.keyspace, rows.errorstats], [want.role, want.replicas, want.keyspace, want.errorstats]);
    const num = (k: string) => valueOf(want.info[k]);
    const picked = (k: string) => picks.num[picks.slot(k)];
    assert.equal(picked('used_memory'), typeof num('used_memory') === 'number' ? num('used_memory') : NaN);
    assert.equal(picked('maxmemory'), typeof num('maxmemory') === 'number' ? num('maxmemory') : NaN);
    assert.equal(picks.str[picks.slot('run_id')], typeof num('run_id') === 'string' ? num('run_id') : undefined);
    assert.ok(Number.isNaN(picked('not_there')));
    // its own bytes and the form-1 object it stands for encode to the same samples
    const plain = { ...s, info: want.info, commandstats: want.commandstats, latencystats: want.latencystats };
    assert.deepEqual(decodeRedisSamples(encodeRedisSamples([s])).samples, decodeRedisSamples(encodeRedisSamples([plain])).samples);
  }
});

function info(fields: Record<string, number | string>): ReturnType<typeof parseInfo>['info'] {
  return parseInfo(
    Object.entries(fields)
      .map(([k, v]) => `${k}:${v}`)
      .join('\r\n'),
  ).info;
}

test('rates over the real elapsed time; hit ratio over the interval', () => {
  const base = {
    run_id: 'a',
    uptime_in_seconds: 100,
    total_commands_processed: 1000,
    total_net_input_bytes: 5000,
    total_net_output_bytes: 9000,
    keyspace_hits: 10,
    keyspace_misses: 10,
    evicted_keys: 0,
    expired_keys: 4,
    rejected_connections: 0,
  };
  const prev = rateSnapshot(info(base), 10_000);
  const cur = rateSnapshot(
    info({
      ...base,
      uptime_in_seconds: 104,
      total_commands_processed: 3000,
      total_net_input_bytes: 9000,
      total_net_output_bytes: 17000,
      keyspace_hits: 40,
      keyspace_misses: 20,
      evicted_keys: 8,
      expired_keys: 8,
      rejected_connections: 2,
    }),
    14_000,
  );
  const r = computeRates(prev, cur);
  assert.equal(r.valid, true);
  assert.equal(r.opsPerSec, 500);
  assert.equal(r.netInputBytesPerSec, 1000);
  assert.equal(r.netOutputBytesPerSec, 2000);
  assert.equal(r.keyspaceHitRatio, 0.75, '30 hits of 40 lookups in the interval, not cumulative');
  assert.equal(r.evictedKeysPerSec, 2);
  assert.equal(r.expiredKeysPerSec, 1);
  assert.equal(r.rejectedConnectionsPerSec, 0.5);
  // A missed tick just widens the interval.
  const later = rateSnapshot(info({ ...base, uptime_in_seconds: 120, total_commands_processed: 5000 }), 30_000);
  assert.equal(computeRates(prev, later).opsPerSec, 200);
  // No lookups in the interval → -1.
  assert.equal(computeRates(prev, rateSnapshot(info({ ...base, uptime_in_seconds: 101 }), 11_000)).keyspaceHitRatio, -1);
});

test('rates are invalid first, after a restart and after a counter reset', () => {
  const base = { run_id: 'a', uptime_in_seconds: 100, total_commands_processed: 1000, keyspace_hits: 5 };
  const prev = rateSnapshot(info(base), 10_000);
  assert.equal(computeRates(undefined, prev).valid, false);
  assert.equal(
    computeRates(prev, rateSnapshot(info({ ...base, run_id: 'b', uptime_in_seconds: 200, total_commands_processed: 9000 }), 20_000)).valid,
    false,
    'run_id changed',
  );
  assert.equal(
    computeRates(prev, rateSnapshot(info({ ...base, uptime_in_seconds: 3, total_commands_processed: 2000 }), 20_000)).valid,
    false,
    'uptime went down',
  );
  assert.equal(
    computeRates(prev, rateSnapshot(info({ ...base, uptime_in_seconds: 110, total_commands_processed: 10 }), 20_000)).valid,
    false,
    'counter backwards',
  );
  assert.equal(
    computeRates(prev, rateSnapshot(info({ ...base, uptime_in_seconds: 110, keyspace_hits: 0 }), 20_000)).valid,
    false,
    'RESETSTAT',
  );
  assert.equal(computeRates(prev, rateSnapshot(info(base), 10_000)).valid, false, 'no time passed');
});

test('headroom always has a denominator', () => {
  assert.deepEqual(computeHeadroom(50, 200, 1000), { usedBytes: 50, limitBytes: 200, limitSource: 'maxmemory', usedRatio: 0.25 });
  assert.deepEqual(computeHeadroom(50, 0, 1000), { usedBytes: 50, limitBytes: 1000, limitSource: 'host_memory', usedRatio: 0.05 });
  assert.equal(computeHeadroom(50, -1, 1000).limitSource, 'host_memory', 'unknown maxmemory');
});

function sample(address: string, up: boolean, keys: number[], maxmemory: number, cluster = ''): RedisSample {
  return {
    address,
    cluster,
    group: '',
    up,
    error: up ? '' : 'connection refused',
    sampledAtMs: 1,
    role: up ? 'master' : '',
    info: {},
    replicas: [],
    keyspace: keys.map((k, i) => ({ db: `db${i}`, keys: k, expires: 0, avgTtl: 0 })),
    commandstats: [],
    latencystats: [],
    errorstats: [],
    maxmemory,
    maxclients: 10000,
    unavailable: [],
    slowlog: [],
  };
}

test('capacity: running, reserved maxmemory, idle = up + no keys + no cluster', () => {
  const cfg = [
    { address: 'a:1', host: 'a', port: 1, cluster: '', group: '' },
    { address: 'b:2', host: 'b', port: 2, cluster: '', group: '' },
    { address: 'c:3', host: 'c', port: 3, cluster: 'c1', group: 'g1' },
    { address: 'd:4', host: 'd', port: 4, cluster: '', group: '' },
    { address: 'e:5', host: 'e', port: 5, cluster: '', group: '' },
  ];
  const c = computeCapacity(
    8,
    [
      sample('a:1', true, [], 100),
      sample('b:2', true, [0, 3], 200),
      sample('c:3', true, [], 400, 'c1'),
      sample('d:4', false, [], -1),
      sample('e:5', true, [0, 0], 0),
    ],
    cfg,
  );
  assert.deepEqual(c, {
    instanceSlots: 8,
    runningInstances: 4,
    maxmemoryReservedBytes: 700,
    idleInstances: 2,
    idleAddresses: ['a:1', 'e:5'],
  });
});

test('/proc parsers on this machine agree with Node', () => {
  const stat = parseProcStat(fs.readFileSync('/proc/stat', 'utf8'));
  assert.equal(stat.cores, os.cpus().length);
  assert.ok(stat.total > stat.busy && stat.busy > 0);
  const mem = parseMeminfo(fs.readFileSync('/proc/meminfo', 'utf8'));
  assert.equal(mem.memTotal, os.totalmem());
  assert.ok(mem.memAvailable > 0 && mem.memAvailable <= mem.memTotal);
  const load = parseLoadavg(fs.readFileSync('/proc/loadavg', 'utf8'));
  assert.ok(Math.abs(load.load1 - os.loadavg()[0]!) < 0.5, 'same source as os.loadavg()');
});

test('/proc parsers on captured text', () => {
  const a = parseProcStat('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\ncpu1 1 0 0 0 0 0 0 0 0 0\nintr 5\n');
  const b = parseProcStat('cpu  250 0 150 800 100 0 0 0 0 0\n');
  assert.deepEqual(a, { busy: 200, total: 1000, cores: 2 });
  assert.equal(cpuPercent(a, b), 66.66666666666666);
  assert.equal(cpuPercent(a, a), 0);
  assert.deepEqual(parseLoadavg('0.50 0.25 0.10 1/87 7584\n'), { load1: 0.5, load5: 0.25, load15: 0.1 });
  assert.deepEqual(
    parseMeminfo('MemTotal:       1000 kB\nMemFree:  10 kB\nMemAvailable:    400 kB\nSwapTotal: 100 kB\nSwapFree: 40 kB\n'),
    { memTotal: 1024000, memAvailable: 409600, swapTotal: 102400, swapFree: 40960 },
  );
  const disk = ' 254       0 vda 37269 8908 2635842 9653 7367 14933 957208 3240 0 5424 13960\n 254       1 vda1 1 2 30 4 5 6 70 8 0 0 0\n';
  assert.deepEqual(parseDiskstats(disk, { major: 254, minor: 0 }), { readBytes: 2635842 * 512, writeBytes: 957208 * 512 });
  assert.deepEqual(parseDiskstats(disk, { major: -1, minor: -1, name: 'vda1' }), { readBytes: 30 * 512, writeBytes: 70 * 512 });
  assert.equal(parseDiskstats(disk, { major: 8, minor: 0 }), undefined);
  const net =
    'Inter-|   Receive |  Transmit\n face |bytes packets\n    lo:   66532     524    0    0    0     0          0         0    66532     524    0    0    0     0       0          0\n  eth0: 1000 5 0 0 0 0 0 0 2000 6 0 0 0 0 0 0\n';
  assert.deepEqual(parseNetDev(net, 'eth0'), { rxBytes: 1000, txBytes: 2000 });
  assert.equal(parseNetDev(net, 'eth1'), undefined);
  const route =
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' +
    'wlan0\t00000000\t010200C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n' +
    'eth1\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n';
  assert.equal(defaultRouteInterface(route), 'eth1');
  assert.equal(defaultRouteInterface('Iface\tDestination\n'), '');
  const mounts =
    '22 27 0:21 / /proc rw - proc proc rw\n27 1 254:0 / / rw - ext4 /dev/vda rw\n40 27 254:16 / /var/lib/redis rw - xfs /dev/vdb rw\n41 27 0:50 / /mnt/with\\040space rw - btrfs /dev/sdc1 rw\n';
  assert.deepEqual(mountFor(mounts, '/var/lib/redis/6379'), {
    mountPoint: '/var/lib/redis',
    major: 254,
    minor: 16,
    source: '/dev/vdb',
    fsType: 'xfs',
  });
  assert.equal(mountFor(mounts, '/var/lib/redisx')!.mountPoint, '/');
  assert.equal(mountFor(mounts, '/mnt/with space/x')!.source, '/dev/sdc1');
});

test('valueOf reads what the parser produces', () => {
  const p = parseInfo(master);
  assert.equal(valueOf(p.info.total_commands_processed), 1307);
});

test('Redis errors become short reasons and never carry the password', () => {
  assert.equal(
    describeRedisError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })),
    'connection refused',
  );
  assert.equal(describeRedisError(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })), 'connect timeout');
  assert.equal(describeRedisError(new Error('Command timed out')), 'timeout (no reply)');
  assert.equal(describeRedisError(new Error("Stream isn't writeable and enableOfflineQueue options is false")), 'connection closed');
  assert.equal(describeRedisError(new Error('ERR invalid password hunter2 given'), 'hunter2'), 'ERR invalid password [redacted] given');
  assert.equal(describeRedisError(new Error('x'.repeat(400))).length, 301);
});
