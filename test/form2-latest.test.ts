// An instance's latest sample (proto/form2.ts latestSample) lets go of its columns and INFO map but answers
// every INFO field from its bytes (the ones the views read, and the others), and serialises as the sample it came from.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  REDIS_FIELD_INDEX,
  decodeLazySamples,
  encodeRedisSamples,
  latestSample,
  sampleInfo,
  storedSample,
  storedSampleBytes,
  withoutSlowlog,
} from '../proto/index.js';
import { VIEW_INFO_FIELDS } from '../collector/views.js';
import { fixtureSample } from './form2-support.js';

test('a latest form-2 sample answers every INFO field as the sample did, and drops only its slowlog entries', () => {
  const samples = [fixtureSample('master', '10.0.0.1:6379'), { ...fixtureSample('replica', '10.0.0.1:6380'), role: 'slave' }];
  const names = [...REDIS_FIELD_INDEX.keys(), 'master_replid', 'future_counter', 'future_text', 'absent', 'toString'];
  for (const s of decodeLazySamples(encodeRedisSamples(samples)).samples) {
    assert.ok(s.slowlog.length > 0);
    const latest = latestSample(s);
    assert.deepEqual(latest.slowlog, []);
    // the fields the views read first (nothing read before), then every other name
    for (const n of VIEW_INFO_FIELDS) assert.deepEqual(sampleInfo(latest, n), sampleInfo(s, n), n);
    for (const n of names) assert.deepEqual(sampleInfo(latest, n), sampleInfo(s, n), n);
    assert.equal(JSON.stringify(latest), JSON.stringify(withoutSlowlog(s)));
    // stored and read back (the load takes the slowlog entries out, as for every stored sample)
    assert.equal(JSON.stringify(withoutSlowlog(storedSample(storedSampleBytes(latest)!)!)), JSON.stringify(latest));
  }
  // a form-1 sample is withoutSlowlog's copy
  const plain = samples[0]!;
  assert.deepEqual(latestSample(plain), { ...plain, slowlog: [] });
});
