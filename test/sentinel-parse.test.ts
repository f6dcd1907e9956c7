// Parsers of Sentinel replies and Pub/Sub messages (sentinel/), on real captures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCkquorum, parseMasters, parseSentinelMessage } from '../sentinel/index.js';
import { readFixture } from './fixtures.js';

const capture = JSON.parse(readFixture('redis', 'sentinel-7.0.15.json')) as {
  masters: unknown;
  info: string;
  ckquorum_ok: string;
  ckquorum_noquorum: string;
  ckquorum_unknown: string;
};

test('SENTINEL masters: name, address, flags, epoch, replicas and Sentinels known, quorum', () => {
  const m = parseMasters(capture.masters);
  assert.deepEqual([...m.keys()], ['g1']);
  assert.deepEqual(m.get('g1'), {
    name: 'g1',
    address: '127.0.0.1:17001',
    flags: ['master'],
    configEpoch: 0,
    downAfterMs: 1000,
    replicas: 1,
    otherSentinels: 1,
    quorum: 2,
  });
  assert.equal(parseMasters('not an array').size, 0);
  assert.equal(parseMasters([['ip', '1.2.3.4']]).size, 0, 'an entry without a name is skipped');
  assert.equal(parseMasters([['name', 'x', 'num-slaves', 'junk']]).get('x')!.replicas, 0, 'junk numbers read as 0');
});

test('SENTINEL CKQUORUM: OK is reachable; NOQUORUM (an error reply) and unknown names are not', () => {
  assert.deepEqual(parseCkquorum(capture.ckquorum_ok), { reachable: true, detail: capture.ckquorum_ok });
  const no = parseCkquorum(new Error(capture.ckquorum_noquorum));
  assert.equal(no.reachable, false);
  assert.match(no.detail, /^NOQUORUM 1 usable Sentinels/);
  assert.equal(parseCkquorum(new Error(capture.ckquorum_unknown)).reachable, false);
  assert.equal(parseCkquorum(undefined).reachable, false);
  assert.match(capture.info, /sentinel_tilt:0/);
});

test('Pub/Sub messages: +switch-master, instance events, -failover-abort-*, +tilt', () => {
  assert.deepEqual(parseSentinelMessage('+switch-master', 'g1 127.0.0.1 17001 127.0.0.1 17002'), {
    instance: '127.0.0.1:17002',
    masterName: 'g1',
    attrs: { master: 'g1', old: '127.0.0.1:17001', new: '127.0.0.1:17002' },
  });
  assert.deepEqual(parseSentinelMessage('+odown', 'master g1 127.0.0.1 17001 #quorum 2/2'), {
    instance: '127.0.0.1:17001',
    masterName: 'g1',
    attrs: { type: 'master', name: 'g1', master: 'g1' },
  });
  assert.deepEqual(parseSentinelMessage('-failover-abort-no-good-slave', 'master g1 127.0.0.1 17001'), {
    instance: '127.0.0.1:17001',
    masterName: 'g1',
    attrs: { type: 'master', name: 'g1', master: 'g1' },
  });
  assert.deepEqual(parseSentinelMessage('+sdown', 'slave 127.0.0.1:17002 127.0.0.1 17002 @ g1 127.0.0.1 17001'), {
    instance: '127.0.0.1:17002',
    masterName: 'g1',
    attrs: { type: 'slave', name: '127.0.0.1:17002', master: 'g1' },
  });
  assert.deepEqual(parseSentinelMessage('+tilt', '#tilt mode entered'), { instance: '', masterName: '', attrs: {} });
  assert.deepEqual(parseSentinelMessage('+switch-master', 'truncated'), { instance: '', masterName: '', attrs: {} });
});
