// Report form 2 (proto/form2.ts): the same INFO capture through form 1 and form 2, over the
// real codecs both sides use, gives the same points and the same line protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeAgentMessage,
  fleetService,
  formProblem,
  REDIS_FIELD_NAMES,
  SCHEMA_FINGERPRINT,
  decodeRedisSamples,
  encodeRedisSamples,
  schemaFingerprint,
  type Report,
} from '../proto/index.js';
import { reportPoints } from '../collector/points.js';
import { encodeLines } from '../collector/line-protocol.js';
import { fixtureSample } from './form2-support.js';

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
