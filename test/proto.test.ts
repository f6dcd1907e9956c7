import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleetService, valueOf, intValue, floatValue, strValue, type AgentMessage, type Report } from '../proto/index.js';

// The proto-loader serializers are the real wire codec both sides use.
const connect = (
  fleetService() as unknown as {
    service: {
      Connect: {
        requestSerialize(v: unknown): Buffer;
        requestDeserialize(b: Buffer): unknown;
        responseSerialize(v: unknown): Buffer;
        responseDeserialize(b: Buffer): unknown;
      };
    };
  }
).service.Connect;

const report: Report = {
  seq: 42,
  timestampMs: 1_795_345_417_766,
  host: {
    cpuPercent: 12.5,
    cpuCores: 2,
    load1: 0.5,
    load5: 0.4,
    load15: 0.3,
    memTotalBytes: 25_276_510_208,
    memAvailableBytes: 20_000_000_000,
    swapTotalBytes: 0,
    swapUsedBytes: 0,
    dataPath: '/',
    diskTotalBytes: 1e12,
    diskFreeBytes: 5e11,
    diskReadBytesPerSec: 1.5,
    diskWriteBytesPerSec: 2.5,
    netRxBytesPerSec: 3,
    netTxBytesPerSec: 4,
    netInterface: 'eth0',
  },
  capacity: {
    instanceSlots: 8,
    runningInstances: 3,
    maxmemoryReservedBytes: 3 * 2 ** 30,
    idleInstances: 1,
    idleAddresses: ['127.0.0.1:6381'],
  },
  redis: [
    {
      address: '127.0.0.1:6379',
      cluster: 'c1',
      group: 'g1',
      up: true,
      error: '',
      sampledAtMs: 1_795_345_417_800,
      role: 'master',
      info: {
        used_memory: intValue(5_491_288),
        mem_fragmentation_ratio: floatValue(3.14),
        redis_version: strValue('7.0.15'),
        master_repl_offset: intValue(2 ** 40 + 7),
      },
      replicas: [{ id: 'slave0', ip: '127.0.0.1', port: 6380, state: 'online', offset: 64, lagSeconds: 1, lagBytes: 0 }],
      keyspace: [{ db: 'db0', keys: 20016, expires: 0, avgTtl: 0 }],
      commandstats: [{ command: 'config|get', calls: 215, usec: 42140, usecPerCall: 196, rejectedCalls: 0, failedCalls: 0 }],
      latencystats: [{ command: 'info', p50: 143.359, p99: 253.951, p999: 288.767 }],
      errorstats: [{ error: 'ERR', count: 3 }],
      maxmemory: 0,
      maxclients: 10000,
      rates: {
        valid: true,
        opsPerSec: 100.5,
        netInputBytesPerSec: 1,
        netOutputBytesPerSec: 2,
        keyspaceHitRatio: -1,
        evictedKeysPerSec: 0,
        expiredKeysPerSec: 0,
        rejectedConnectionsPerSec: 0,
      },
      headroom: { usedBytes: 5_491_288, limitBytes: 25_276_510_208, limitSource: 'host_memory', usedRatio: 0.000217 },
      unavailable: ['CONFIG'],
      slowlog: [{ id: 7, timestamp: 1_795_345_400, durationUsec: 12000, command: 'KEYS *', client: '127.0.0.1:5000', clientName: '' }],
    },
  ],
  proxies: [],
  events: [{ timestampMs: 1, kind: 'instance.down', instance: '127.0.0.1:6381', message: 'connection refused', attrs: { a: 'b' } }],
  agent: { bufferedReports: 3, droppedReports: 1, tickCpuMs: 1.25, rssBytes: 50_000_000, reconnects: 2 },
};

test('a full report survives the wire codec with types intact', () => {
  const msg: AgentMessage = { report };
  const back = connect.requestDeserialize(connect.requestSerialize(msg)) as { body: string; report: Report };
  assert.equal(back.body, 'report');
  const r = back.report;
  assert.equal(r.seq, 42);
  assert.equal(r.host!.memTotalBytes, 25_276_510_208);
  assert.equal(r.capacity!.idleAddresses[0], '127.0.0.1:6381');
  const s = r.redis[0]!;
  assert.equal(valueOf(s.info.used_memory), 5_491_288);
  assert.equal(valueOf(s.info.mem_fragmentation_ratio), 3.14);
  assert.equal(valueOf(s.info.redis_version), '7.0.15');
  assert.equal(valueOf(s.info.master_repl_offset), 2 ** 40 + 7, '64-bit offsets above 2^32 stay exact');
  assert.equal((s.info.used_memory as { kind?: string }).kind, 'int', 'ints stay ints on the wire');
  assert.equal(s.replicas[0]!.port, 6380);
  assert.equal(s.latencystats[0]!.p999, 288.767);
  assert.equal(s.headroom!.limitSource, 'host_memory');
  assert.deepEqual(s.unavailable, ['CONFIG']);
  assert.equal(s.slowlog[0]!.command, 'KEYS *');
  assert.equal(r.events[0]!.attrs.a, 'b');
  assert.equal(r.agent!.droppedReports, 1);
});

test('hello and the collector messages decode to their oneof branch', () => {
  const hello = connect.requestDeserialize(
    connect.requestSerialize({
      hello: {
        hostId: 'h1',
        labels: { idc: 'sz-a' },
        roles: ['redis'],
        agentVersion: '0.1.0',
        intervalMs: 10000,
        sessionId: 's',
        protocolVersion: 1,
      },
    }),
  ) as { body: string; hello: { labels: Record<string, string>; intervalMs: number } };
  assert.equal(hello.body, 'hello');
  assert.equal(hello.hello.labels.idc, 'sz-a');
  assert.equal(hello.hello.intervalMs, 10000);
  const ack = connect.responseDeserialize(connect.responseSerialize({ ack: { sessionId: 's', seq: 9 } })) as {
    body: string;
    ack: { seq: number };
  };
  assert.equal(ack.body, 'ack');
  assert.equal(ack.ack.seq, 9);
});

test("the agent's direct encoder gives the serializer's exact bytes for a full report", async () => {
  const { encodeAgentMessage } = await import('../proto/index.js');
  const { makeReport, redisSample } = await import('./collector-support.js');
  const full = makeReport(9, {
    redis: [redisSample({ address: '127.0.0.1:6379' }), redisSample({ address: '127.0.0.1:6380', up: false } as never)],
  });
  full.persistence = {
    tokenHolder: '127.0.0.1:6379',
    queue: ['rdb@127.0.0.1:6380'],
    fields: { forks_running: intValue(1), '127.0.0.1:6379/policy_save': strValue('3600 1') },
  };
  full.guard = { zkState: 'unreachable', fields: { '127.0.0.1:6379/fenced': intValue(1), zk_last_error: strValue('no answer') } };
  full.events = [{ timestampMs: 1, kind: 'guard.fenced', instance: '127.0.0.1:6379', message: 'fenced', attrs: { mode: 'acl' } }];
  for (const msg of [{ report: full }, { report }]) {
    const direct = encodeAgentMessage(msg);
    assert.ok(direct.length > 100);
    assert.deepEqual(direct, connect.requestSerialize(msg));
    assert.deepEqual(connect.requestDeserialize(direct), connect.requestDeserialize(connect.requestSerialize(msg)));
  }
  // A wrong runtime type is refused (the link then falls back to the serializer), not silently mis-encoded.
  assert.throws(() => encodeAgentMessage({ report: { ...report, redis: [{ ...report.redis[0]!, address: 5 }] } }));
});
