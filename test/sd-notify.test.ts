// sd_notify on a real AF_UNIX datagram socket (bound by a small perl receiver, perl-base being
// Essential on Debian): the module's READY=1 / WATCHDOG=1 / STOPPING=1, the watchdog gate, the
// abstract namespace, and the real agent and collector programs under NOTIFY_SOCKET.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { createLogger, progressed, startSdNotify } from '../common/index.js';
import { harness, waitFor } from './harness/index.js';

const RECEIVER = [
  'use strict; use Socket; use IO::Handle; STDOUT->autoflush(1);',
  'my $p = $ARGV[0]; $p =~ s/^@/\\0/;',
  'socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";',
  'bind($s, pack_sockaddr_un($p)) or die "bind: $!";',
  'print "LISTENING\\n";',
  'while (defined(recv($s, my $buf, 65536, 0))) { print unpack("H*", $buf), "\\n"; }',
].join('\n');

interface Received {
  at: number;
  text: string;
}

class Receiver {
  readonly messages: Received[] = [];
  private constructor(
    readonly address: string,
    private readonly proc: ChildProcess,
  ) {}

  static async start(address: string): Promise<Receiver> {
    const proc = spawn('perl', ['-e', RECEIVER, address], { stdio: ['ignore', 'pipe', 'pipe'] });
    const r = new Receiver(address, proc);
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    let buf = '';
    let listening: () => void;
    const ready = new Promise<void>((resolve) => {
      listening = resolve;
    });
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'LISTENING') listening();
        else r.messages.push({ at: Date.now(), text: Buffer.from(line, 'hex').toString('utf8') });
      }
    });
    await Promise.race([ready, new Promise((_, rej) => setTimeout(() => rej(new Error(`receiver did not bind: ${stderr}`)), 5000))]);
    return r;
  }

  count(prefix: string, since = 0): number {
    return this.messages.filter((m) => m.at >= since && m.text.split('\n').includes(prefix)).length;
  }

  close(): void {
    this.proc.kill('SIGKILL');
  }
}

function tmpSocket(): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-sdn-'));
  return { dir, file: path.join(dir, 'notify.sock') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logger = createLogger('sd-notify-test', 'silent');

describe('sd_notify', () => {
  test('READY=1 with MAINPID at start, WATCHDOG=1 only while healthy, STOPPING=1 at stop', async (t) => {
    const { dir, file } = tmpSocket();
    const rx = await Receiver.start(file);
    t.after(() => {
      rx.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    let healthy = true;
    const n = startSdNotify({
      logger,
      env: { PATH: process.env.PATH, NOTIFY_SOCKET: file, WATCHDOG_USEC: '200000' },
      healthy: () => healthy,
      status: 'testing',
    });
    assert.equal(n.enabled, true);
    assert.equal(n.via, 'perl');
    assert.equal(n.watchdogEveryMs, 100);
    const ready = await waitFor(() => rx.messages.find((m) => m.text.includes('READY=1')), { what: 'READY=1' });
    assert.deepEqual(ready.text.split('\n'), ['READY=1', `MAINPID=${process.pid}`, 'STATUS=testing']);
    await waitFor(() => rx.count('WATCHDOG=1') >= 3, { what: 'three WATCHDOG=1' });

    healthy = false;
    await sleep(250); // a ping in flight may still land
    const gate = Date.now();
    await sleep(800);
    assert.equal(rx.count('WATCHDOG=1', gate), 0, 'no ping while the loop is not healthy');

    healthy = true;
    const back = Date.now();
    await waitFor(() => rx.count('WATCHDOG=1', back) >= 2, { what: 'pings resume' });
    n.stop();
    await waitFor(() => rx.count('STOPPING=1') === 1, { what: 'STOPPING=1' });
    const stopped = Date.now();
    await sleep(400);
    assert.equal(rx.count('WATCHDOG=1', stopped + 50), 0, 'no ping after stop');
  });

  test('an abstract-namespace NOTIFY_SOCKET (@name) works; a watchdog for another pid is not ours', async (t) => {
    const name = `@rf-sdn-${crypto.randomBytes(6).toString('hex')}`;
    const rx = await Receiver.start(name);
    t.after(() => rx.close());
    const n = startSdNotify({ logger, env: { PATH: process.env.PATH, NOTIFY_SOCKET: name, WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' } });
    t.after(() => n.stop());
    assert.equal(n.watchdogEveryMs, 0, 'WATCHDOG_PID names another process');
    await waitFor(() => rx.count('READY=1') === 1, { what: 'READY=1 over the abstract socket' });
    await sleep(400);
    assert.equal(rx.count('WATCHDOG=1'), 0);
  });

  test('without NOTIFY_SOCKET nothing is spawned or sent', () => {
    const n = startSdNotify({ logger, env: { PATH: process.env.PATH } });
    assert.equal(n.enabled, false);
    assert.equal(n.via, 'none');
    n.notify('READY=1');
    n.stop();
  });

  test('progressed(): healthy while the counter moves, not once it stalls for staleMs', () => {
    let now = 1_000;
    let ticks = 0;
    const ok = progressed(
      () => ticks,
      3_000,
      () => now,
    );
    assert.equal(ok(), true);
    now += 2_000;
    ticks++;
    assert.equal(ok(), true);
    now += 2_999;
    assert.equal(ok(), true);
    now += 2;
    assert.equal(ok(), false, 'stalled for more than staleMs');
    ticks++;
    assert.equal(ok(), true, 'a completed tick makes it healthy again');
  });

  test('the real agent and collector programs send READY=1 and keep pinging WATCHDOG=1', async (t) => {
    const h = await harness(t);
    const { dir, file: agentSock } = tmpSocket();
    const collectorSock = path.join(dir, 'collector.sock');
    const rxAgent = await Receiver.start(agentSock);
    const rxCollector = await Receiver.start(collectorSock);
    t.after(() => {
      rxAgent.close();
      rxCollector.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const redis = await h.redis();
    const collector = await h.collector({}, { env: { NOTIFY_SOCKET: collectorSock, WATCHDOG_USEC: '400000' } });
    await h.agent(
      { hostId: 'sdn', interval: '200ms', redis: [{ address: redis.address }] },
      { collector, env: { NOTIFY_SOCKET: agentSock, WATCHDOG_USEC: '400000' } },
    );
    for (const [who, rx] of [
      ['agent', rxAgent],
      ['collector', rxCollector],
    ] as const) {
      const ready = await waitFor(() => rx.messages.find((m) => m.text.includes('READY=1')), {
        timeoutMs: 20_000,
        what: `READY=1 from the ${who}`,
      });
      assert.match(ready.text, /^READY=1\nMAINPID=\d+\nSTATUS=/);
      await waitFor(() => rx.count('WATCHDOG=1', ready.at) >= 3, { timeoutMs: 10_000, what: `WATCHDOG=1 from the ${who}` });
    }
    // The agent pings because its ticks complete: its host is in the collector.
    await waitFor(async () => (await collector.api<{ hosts: { id: string }[] }>('/api/v1/hosts')).hosts.some((x) => x.id === 'sdn'), {
      what: 'agent reports',
    });
  });
});
