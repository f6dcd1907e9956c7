// Shared by the report-form tests: a full RedisSample from the real INFO ALL captures, parsed by
// the agent's own parser, with rows of every kind and INFO fields the schema does not list.
import fs from 'node:fs';
import path from 'node:path';
import { parseInfo } from '../agent/index.js';
import type { RedisSample } from '../proto/index.js';
import { fixturePath } from './fixtures.js';

export function fixtureSample(kind: 'master' | 'replica', address: string): RedisSample {
  const p = parseInfo(fs.readFileSync(path.join(fixturePath('redis'), `info-all-${kind}-7.0.15.txt`), 'utf8'));
  return {
    address,
    cluster: 'c 1,x=y', // tag text that needs line-protocol escapes
    group: 'g1',
    up: true,
    error: '',
    sampledAtMs: 1_795_345_417_000,
    role: p.role,
    // fields the schema does not list, of every kind
    info: {
      ...p.info,
      future_counter: { int: 7 },
      future_ratio: { float: 0.25 },
      future_text: { str: 'say "hi" \\ ok' },
      config_file: { str: '/etc/redis "main" \\ 1.conf' },
    },
    replicas: p.replicas,
    keyspace: p.keyspace,
    commandstats: p.commandstats,
    latencystats: p.latencystats,
    errorstats: p.errorstats,
    maxmemory: 1 << 30,
    maxclients: 10000,
    rates: {
      valid: true,
      opsPerSec: 12.5,
      netInputBytesPerSec: 100,
      netOutputBytesPerSec: 200,
      keyspaceHitRatio: -1,
      evictedKeysPerSec: 0,
      expiredKeysPerSec: 1,
      rejectedConnectionsPerSec: 0,
    },
    headroom: { usedBytes: 5e6, limitBytes: 1 << 30, limitSource: 'maxmemory', usedRatio: 5e6 / (1 << 30) },
    unavailable: ['SLOWLOG'],
    slowlog: [{ id: 3, timestamp: 1_795_345_410, durationUsec: 12000, command: 'KEYS *', client: '127.0.0.1:5000', clientName: 'app' }],
  };
}
