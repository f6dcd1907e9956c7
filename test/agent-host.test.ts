// The host input on this machine: values agree with independent sources, and the
// data volume's write rate and the CPU percentage move when we make them move.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Accumulator, HostInput, defaultRouteInterface, osRelease, physicalCores } from '../agent/index.js';
import { agentConfig, memoryLogger } from './agent-support.js';

async function gather(input: HostInput) {
  const acc = new Accumulator(Date.now());
  await input.gather(acc);
  assert.ok(acc.host, 'host metrics set');
  return acc.host;
}

test('host metrics from /proc agree with Node and statfs; disk writes and CPU load show up as rates', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-host-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = memoryLogger();
  const input = new HostInput({ config: agentConfig({ dataPath: dir }), logger: log.logger });
  await input.start();
  const inventory = log.lines.find((l) => l.msg === 'host inventory');
  assert.ok(inventory, 'the inventory line is logged at start');
  assert.equal(inventory.cores, os.cpus().length);
  assert.equal(inventory.kernel, os.release());
  assert.equal(inventory.memTotalBytes, os.totalmem());
  assert.match(String(inventory.os), /\S/);
  const first = await gather(input);
  assert.equal(first.cpuCores, os.cpus().length);
  assert.equal(first.memTotalBytes, os.totalmem());
  assert.ok(first.memAvailableBytes > 0 && first.memAvailableBytes <= first.memTotalBytes);
  assert.ok(first.swapUsedBytes <= first.swapTotalBytes);
  const st = fs.statfsSync(dir);
  assert.equal(first.diskTotalBytes, st.blocks * st.bsize);
  assert.ok(first.diskFreeBytes > 0 && first.diskFreeBytes <= first.diskTotalBytes);
  assert.equal(first.dataPath, dir);
  assert.equal(first.netInterface, defaultRouteInterface(fs.readFileSync('/proc/net/route', 'utf8')));
  for (const k of ['cpuPercent', 'diskReadBytesPerSec', 'diskWriteBytesPerSec', 'netRxBytesPerSec', 'netTxBytesPerSec', 'load1'] as const) {
    assert.ok(Number.isFinite(first[k]) && first[k] >= 0, `${k} = ${first[k]}`);
  }
  assert.ok(first.cpuPercent <= 100);

  // 8 MiB written and fsynced to the data volume, plus ~300 ms of busy CPU.
  const fd = fs.openSync(path.join(dir, 'blob'), 'w');
  fs.writeSync(fd, Buffer.alloc(8 * 1024 * 1024, 7));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const until = Date.now() + 300;
  while (Date.now() < until) {
    /* burn */
  }
  const second = await gather(input);
  const hasDevice = !log.lines.some((l) => String(l.msg).startsWith('no block device'));
  if (hasDevice) assert.ok(second.diskWriteBytesPerSec > 0, 'the fsynced write is visible on the block device');
  assert.ok(second.cpuPercent > 5, `cpu ${second.cpuPercent}% after 300 ms busy`);
});

test('a dataPath that disappears is logged once and reported as 0, the rest still works', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-host-gone-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = memoryLogger();
  const input = new HostInput({ config: agentConfig({ dataPath: dir }), logger: log.logger });
  await input.start();
  fs.rmSync(dir, { recursive: true });
  const a = await gather(input);
  await gather(input);
  assert.equal(a.diskTotalBytes, 0);
  assert.ok(a.memTotalBytes > 0);
  assert.equal(log.count('cannot statfs dataPath'), 1);
  fs.mkdirSync(dir);
  assert.ok((await gather(input)).diskTotalBytes > 0);
  assert.equal(log.count('dataPath readable again'), 1);
});

test('inventory parsers: physical cores of a hyperthreaded two-socket cpuinfo, os-release names', () => {
  const cpu = (pkg: number, core: number) => `processor\t: 0\nphysical id\t: ${pkg}\ncore id\t\t: ${core}\n\n`;
  // 2 sockets × 2 cores × 2 threads = 8 logical CPUs, 4 physical cores.
  const text = [0, 1].flatMap((p) => [0, 1, 0, 1].map((c) => cpu(p, c))).join('');
  assert.equal(physicalCores(text), 4);
  assert.equal(physicalCores('processor\t: 0\nmodel name\t: ARMv7\n'), 0);
  assert.equal(
    osRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'),
    'Debian GNU/Linux 12 (bookworm)',
  );
  assert.equal(osRelease('NAME=Alpine\nVERSION_ID=3.20.0\n'), 'Alpine 3.20.0');
});
