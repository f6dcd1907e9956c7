// Discovery against real processes: redis-servers (one with a TLS port), a redis-sentinel and a
// nutcracker from the harness are found with the right kind, pid and ports; a stopped one is reported
// removed by the periodic re-scan; a scan as an unprivileged user falls back to the process titles.
// The parsers run on /proc/net/tcp{,6} lines and process titles captured on this machine.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  Discovery,
  assembleInstances,
  decodeHexAddress,
  discoverLocal,
  identifyProcess,
  mergeWithConfigured,
  parseCodisProxyArgs,
  parseCodisProxyToml,
  parseListenSockets,
  parseNutcrackerArgs,
  parsePortRanges,
  parseRedisTitle,
  resolveCredentials,
  splitCmdline,
  type Discovered,
  type DiscoveredInstance,
  type DiscoveredNutcracker,
  type DiscoveredCodisProxy,
  type ProcSnapshot,
} from '../agent/discovery/index.js';
import { canConnect, freePort, harness, spawnManaged, waitFor } from './harness/index.js';

const run = promisify(execFile);

function byPid(found: Discovered, pid: number): DiscoveredInstance {
  const inst = found.instances.find((i) => i.pid === pid);
  assert.ok(inst, `pid ${pid} discovered among ${JSON.stringify(found.instances.map((i) => [i.kind, i.pid, i.address]))}`);
  return inst;
}

/** A self-signed certificate for a TLS port (redis-server needs cert, key and CA files). */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

test('real redis-servers, a sentinel and a nutcracker are found with kind, pid and ports; a stopped one is reported removed', async (t) => {
  const h = await harness(t);
  const tlsDir = await h.tempDir('tls');
  const { cert, key } = selfSigned(tlsDir);
  const tlsPort = await freePort();
  const plain = await h.redis();
  const withTls = await h.redis({
    args: ['--tls-port', String(tlsPort), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert],
  });
  const sentinel = await h.sentinel({ masters: [{ name: 'm', master: plain }] });
  const nut = await h.nutcracker({ pools: { main: { servers: [plain] } } });

  const found = await discoverLocal();
  const a = byPid(found, plain.pid);
  assert.deepEqual([a.kind, a.address, a.ports, a.socketsVisible, a.otherNetns], ['redis', plain.address, [plain.port], true, false]);
  const b = byPid(found, withTls.pid);
  assert.equal(b.kind, 'redis');
  assert.equal(b.address, withTls.address, 'the plain port is the one to dial, whichever of the two is lower');
  assert.deepEqual(
    b.ports,
    [withTls.port, tlsPort].sort((x, y) => x - y),
  );
  const s = byPid(found, sentinel.pid);
  assert.deepEqual([s.kind, s.address, s.ports], ['sentinel', sentinel.address, [sentinel.port]]);
  const n = byPid(found, nut.pid) as DiscoveredNutcracker;
  assert.deepEqual([n.kind, n.statsAddress, n.statsPort, n.address], ['nutcracker', nut.statsAddress, nut.statsPort, nut.statsAddress]);
  assert.deepEqual(n.clientAddresses, [nut.address('main')]);
  assert.deepEqual(
    n.ports,
    [nut.port('main'), nut.statsPort].sort((x, y) => x - y),
  );
  assert.equal(n.configFile, nut.configPath);
  assert.ok(found.stats.pids >= 4 && found.stats.candidates >= 4);
  // Every address discovery hands out answers.
  for (const inst of [a, b, s, n]) assert.ok(await canConnect(inst.port, inst.host), `${inst.kind} ${inst.address} accepts connections`);

  const changes: Array<{ added: DiscoveredInstance[]; removed: DiscoveredInstance[] }> = [];
  const discovery = new Discovery({ intervalMs: 100, onChange: (added, removed) => changes.push({ added, removed }) });
  t.after(() => discovery.stop());
  const first = await discovery.start();
  for (const pid of [plain.pid, withTls.pid, sentinel.pid, nut.pid]) byPid(first, pid);
  assert.ok(
    changes[0]?.added.some((i) => i.pid === plain.pid),
    'the first scan reports everything as added',
  );
  const stoppedPid = withTls.pid;
  await withTls.stop();
  const removal = await waitFor(() => changes.find((c) => c.removed.some((i) => i.pid === stoppedPid)), {
    timeoutMs: 10_000,
    what: 'the periodic re-scan to report the stopped redis removed',
  });
  assert.ok(!removal.removed.some((i) => i.pid === plain.pid), 'only the stopped one is removed');
  assert.ok(!discovery.current!.instances.some((i) => i.pid === stoppedPid));
  byPid(discovery.current!, plain.pid);
});

test('as an unprivileged user the fd tables are unreadable: counted, and redis/sentinel/nutcracker still found from their titles and arguments', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const sentinel = await h.sentinel({ masters: [{ name: 'm', master: redis }] });
  const nut = await h.nutcracker({ pools: { main: { servers: [redis] } } });
  const index = fileURLToPath(new URL('../agent/discovery/index.js', import.meta.url));
  const script = `const { discoverLocal } = await import(${JSON.stringify(index)}); process.stdout.write(JSON.stringify(await discoverLocal()));`;
  // nobody (65534): may read every cmdline but no other user's /proc/<pid>/fd.
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, cwd: '/' });
  const found = JSON.parse(stdout) as Discovered;
  assert.ok(found.stats.permissionDenied >= 3, `permission denials counted: ${JSON.stringify(found.stats)}`);
  const r = byPid(found, redis.pid);
  assert.deepEqual([r.kind, r.address, r.ports, r.socketsVisible], ['redis', redis.address, [redis.port], false]);
  const s = byPid(found, sentinel.pid);
  assert.deepEqual([s.kind, s.address, s.socketsVisible], ['sentinel', sentinel.address, false]);
  const n = byPid(found, nut.pid) as DiscoveredNutcracker;
  assert.deepEqual([n.kind, n.statsAddress, n.socketsVisible, n.configFile], ['nutcracker', nut.statsAddress, false, nut.configPath]);
});

test('a codis-proxy process (stand-in: no codis-proxy binary here) is found with admin/proxy addresses and product from its --config TOML', async (t) => {
  const h = await harness(t);
  const dir = await h.tempDir('codis-proxy');
  const adminPort = await freePort();
  const proxyPort = await freePort();
  fs.writeFileSync(
    path.join(dir, 'proxy.toml'),
    [
      '# codis-proxy config (excerpt of the shipped proxy.toml)',
      'product_name = "codis-demo"',
      'product_auth = ""',
      'proto_type = "tcp4"',
      `admin_addr = "0.0.0.0:${adminPort}"`,
      `proxy_addr = "127.0.0.1:${proxyPort}"  # RESP`,
      'jodis_name = ""',
    ].join('\n') + '\n',
  );
  // A real process named codis-proxy (node through a symlink of that name) listening on the TOML's
  // two ports, started with a relative --config path the way codis's own scripts do.
  fs.symlinkSync(process.execPath, path.join(dir, 'codis-proxy'));
  fs.writeFileSync(
    path.join(dir, 'listen.mjs'),
    [
      "import net from 'node:net';",
      `net.createServer((c) => c.end()).listen(${adminPort}, '0.0.0.0');`,
      `net.createServer((c) => c.end()).listen(${proxyPort}, '127.0.0.1');`,
    ].join('\n'),
  );
  const proc = spawnManaged({
    name: 'codis-proxy',
    command: path.join(dir, 'codis-proxy'),
    args: ['listen.mjs', '--ncpu=2', '--config=proxy.toml', '--log=proxy.log'],
    cwd: dir,
    logFile: path.join(dir, 'out.log'),
  });
  h.adopt(proc);
  await waitFor(async () => (await canConnect(adminPort)) && canConnect(proxyPort), { what: 'the codis-proxy stand-in to listen' });

  const c = byPid(await discoverLocal(), proc.pid) as DiscoveredCodisProxy;
  assert.equal(c.kind, 'codis-proxy');
  assert.equal(c.comm, 'codis-proxy');
  assert.deepEqual(
    [c.address, c.adminAddress, c.proxyAddress],
    [`127.0.0.1:${adminPort}`, `127.0.0.1:${adminPort}`, `127.0.0.1:${proxyPort}`],
  );
  assert.deepEqual([c.productName, c.cluster, c.configFile, c.configError], ['codis-demo', 'codis-demo', 'proxy.toml', undefined]);
  assert.deepEqual(
    c.ports,
    [adminPort, proxyPort].sort((x, y) => x - y),
  );
});

// --- captured on this machine (redis-server 7.0.15, kernel procfs), 2026-12-02 ---
const TCP4_CAPTURE =
  [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1063 1 00000000040c2a71 100 0 0 10 0',
    '   1: 0100007F:3FFB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20214 1 000000008b801824 100 0 0 10 0',
    '   2: 00000000:670C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20221 1 000000005dc15948 100 0 0 10 0',
    '   3: 00000000:6717 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18835 1 0000000045450c5e 100 0 0 10 0',
    '   4: 0100007F:6716 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20218 1 0000000019861c1b 100 0 0 10 0',
    '   5: 00000000:3FFF 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18888 1 00000000d9cd16a8 100 0 0 10 0',
    '   6: 00000000:3FFE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18883 1 00000000be5531e9 100 0 0 10 0',
    '   7: 00000000:3FFD 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18881 1 000000003350cd97 100 0 0 10 0',
    '   8: 00000000:3FFC 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20212 1 0000000026caaa86 100 0 0 10 0',
    '   9: 0100007F:3FFB 0100007F:B2FA 01 00000000:00000000 02:0000709D 00000000     0        0 18842 2 000000004fbcf208 20 4 31 18 -1',
    '  10: 0100007F:3FFB 0100007F:B72C 01 00000000:00000000 02:00006D18 00000000     0        0 20228 2 0000000094165011 20 4 29 18 -1',
    '  11: 0100007F:C614 0100007F:6717 01 00000000:00000000 00:00000000 00000000     0        0 20679 2 000000001d7d60c3 20 4 30 18 -1',
    '  12: 0100007F:6717 0100007F:C614 01 00000000:00000000 02:0000716C 00000000     0        0 20680 3 00000000a07b51fd 20 4 31 18 -1',
    '  13: 0100007F:6716 0100007F:992C 01 00000000:00000000 02:00007114 00000000     0        0 20573 3 00000000a029afba 20 4 31 18 -1',
    '  14: 0100007F:B2F2 0100007F:3FFB 01 00000000:00000000 00:00000000 00000000     0        0 18839 2 00000000b3c3f035 20 4 18 18 -1',
    '  15: 0100007F:B2FA 0100007F:3FFB 01 00000000:00000000 00:00000000 00000000     0        0 18840 1 00000000854e2576 20 4 30 11 -1',
    '  16: 0100007F:B72C 0100007F:3FFB 01 00000000:00000000 00:00000000 00000000     0        0 20227 1 00000000edbb2035 20 4 16 18 -1',
    '  17: 0100007F:B73C 0100007F:3FFB 01 00000000:00000000 00:00000000 00000000     0        0 20230 1 00000000bd8d3300 20 4 30 11 -1',
    '  18: 0100007F:3FFB 0100007F:B2F2 01 00000000:00000000 02:0000709D 00000000     0        0 18841 3 00000000f399c9c8 20 4 31 18 -1',
    '  19: 0100007F:992C 0100007F:6716 01 00000000:00000000 00:00000000 00000000     0        0 20572 2 00000000c0f472cd 20 4 30 18 -1',
    '  20: 0100007F:3FFB 0100007F:B73C 01 00000000:00000000 02:00006D18 00000000     0        0 20231 2 000000009f28b243 20 4 31 18 -1',
  ].join('\n') + '\n';

const TCP6_CAPTURE =
  [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000000000000000000001000000:3FFB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20215 1 00000000ed27e542 100 0 0 10 0',
    '   1: 00000000000000000000000000000000:670C 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20222 1 00000000db0e6201 100 0 0 10 0',
    '   2: 00000000000000000000000000000000:6717 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18836 1 00000000fc633594 100 0 0 10 0',
    '   3: 00000000000000000000000000000000:3FFF 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18889 1 00000000e41b5a4f 100 0 0 10 0',
    '   4: 00000000000000000000000000000000:3FFE 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18884 1 000000005694bee6 100 0 0 10 0',
    '   5: 00000000000000000000000000000000:3FFD 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18882 1 00000000ba3884e1 100 0 0 10 0',
    '   6: 00000000000000000000000000000000:3FFC 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20213 1 000000001407858d 100 0 0 10 0',
  ].join('\n') + '\n';

// A redis bound to "fd00::2 127.0.0.1" (a non-loopback IPv6 address in the kernel's word order).
const TCP6_GLOBAL_CAPTURE =
  [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 000000FD000000000000000002000000:4000 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19118 1 000000005694bee6 100 0 0 10 0',
  ].join('\n') + '\n';
const TCP4_GLOBAL_CAPTURE =
  [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   1: 0100007F:4000 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19119 1 00000000be5531e9 100 0 0 10 0',
  ].join('\n') + '\n';

/** Redis pads its rewritten title with NULs up to the original argv's length. */
const title = (t: string, pad: number): string => t + '\0'.repeat(pad);
// pid, /proc/<pid>/cmdline, comm, the socket inodes of /proc/<pid>/fd, and what each was started as.
const CAPTURED_PROCESSES: Array<{ pid: number; cmdline: string; comm: string; inodes: number[]; started: string }> = [
  {
    pid: 7873,
    cmdline: title('redis-server 127.0.0.1:16379', 60),
    comm: 'redis-server',
    inodes: [18841, 18842, 20214, 20215, 20228, 20231],
    started: '--port 16379 --bind "127.0.0.1 ::1" (two replicas connected)',
  },
  {
    pid: 7875,
    cmdline: title('redis-server *:16380 [cluster]', 106),
    comm: 'redis-server',
    inodes: [20222, 20212, 20213, 20221],
    started: '--port 16380 --bind "* -::*" --cluster-enabled yes',
  },
  {
    pid: 7879,
    cmdline: title('redis-server 127.0.0.1:26390 [sentinel]', 4),
    comm: 'redis-server',
    inodes: [20679, 20218, 20227, 20230, 20573],
    started: 'redis-server s.conf --sentinel',
  },
  {
    pid: 7972,
    cmdline: title('redis-sentinel *:26391 [sentinel]', 2),
    comm: 'redis-sentinel',
    inodes: [20572, 20680, 18835, 18836, 18839, 18840],
    started: 'redis-sentinel s3.conf',
  },
  {
    pid: 8077,
    cmdline: title('redis-server *:16381', 118),
    comm: 'redis-server',
    inodes: [18881, 18882, 18883, 18884],
    started: '--port 16381 --tls-port 16382',
  },
  {
    pid: 8079,
    cmdline: title('redis-server *:16383', 115),
    comm: 'redis-server',
    inodes: [18888, 18889],
    started: '--port 0 --tls-port 16383',
  },
];

function capturedSnapshot(): ProcSnapshot {
  const listen = parseListenSockets(TCP6_CAPTURE, parseListenSockets(TCP4_CAPTURE));
  return {
    processes: CAPTURED_PROCESSES.map((p) => {
      const argv = splitCmdline(p.cmdline);
      return { pid: p.pid, kind: identifyProcess(argv, p.comm)!, argv, comm: p.comm, socketInodes: p.inodes, netns: 'net:[4026531840]' };
    }),
    listenByNetns: new Map([['net:[4026531840]', listen]]),
    ownNetns: 'net:[4026531840]',
    pids: 6,
    permissionDenied: 0,
    vanished: 0,
  };
}

test('/proc/net/tcp and tcp6 (captured): LISTEN sockets only, little-endian words decoded, IPv6 compressed', () => {
  const v4 = parseListenSockets(TCP4_CAPTURE);
  assert.equal(v4.size, 9, 'the 12 ESTABLISHED lines are left out');
  assert.deepEqual(v4.get(20214), { ip: '127.0.0.1', port: 16379, family: 4, inode: 20214 });
  assert.deepEqual(v4.get(20221), { ip: '0.0.0.0', port: 26380, family: 4, inode: 20221 });
  assert.deepEqual(v4.get(1063), { ip: '0.0.0.0', port: 2024, family: 4, inode: 1063 });
  assert.equal(v4.get(20228), undefined, 'an accepted connection on the listening port is not a listener');
  const v6 = parseListenSockets(TCP6_CAPTURE);
  assert.equal(v6.size, 7);
  assert.deepEqual(v6.get(20215), { ip: '::1', port: 16379, family: 6, inode: 20215 });
  assert.deepEqual(v6.get(20222), { ip: '::', port: 26380, family: 6, inode: 20222 });
  assert.deepEqual(parseListenSockets(TCP6_GLOBAL_CAPTURE).get(19118), { ip: 'fd00::2', port: 16384, family: 6, inode: 19118 });
  assert.deepEqual(decodeHexAddress('0000000000000000FFFF00000100007F'), { ip: '::ffff:127.0.0.1', family: 6 });
  assert.deepEqual(decodeHexAddress('B80D0120000000000000000001000000'), { ip: '2001:db8::1', family: 6 });
  assert.equal(decodeHexAddress('0100'), undefined);
  assert.equal(parseListenSockets('').size, 0);
});

test('process titles (captured): kinds, listen address and mode; fork children and pre-rewrite argv', () => {
  const kinds = CAPTURED_PROCESSES.map((p) => identifyProcess(splitCmdline(p.cmdline), p.comm));
  assert.deepEqual(kinds, ['redis', 'redis', 'sentinel', 'sentinel', 'redis', 'redis']);
  assert.deepEqual(parseRedisTitle(splitCmdline(CAPTURED_PROCESSES[1]!.cmdline)), { host: '*', port: 16380, mode: 'cluster' });
  assert.deepEqual(parseRedisTitle(['redis-server fd00::2:16384']), { host: 'fd00::2', port: 16384, mode: '' });
  assert.deepEqual(parseRedisTitle(['redis-sentinel *:26391 [sentinel]']), { host: '*', port: 26391, mode: 'sentinel' });
  // Before the rewrite, or with set-proc-title no: the original command line.
  assert.deepEqual(parseRedisTitle(['/usr/bin/redis-server', '/etc/redis/redis.conf', '--port', '6380']), {
    host: '*',
    port: 6380,
    mode: '',
  });
  assert.equal(identifyProcess(['/usr/bin/redis-server', '/etc/redis/sentinel.conf', '--sentinel'], 'redis-server'), 'sentinel');
  assert.equal(identifyProcess(['redis-server unixsocket:/run/redis.sock'], 'redis-server'), 'redis');
  assert.equal(parseRedisTitle(['redis-server unixsocket:/run/redis.sock']), undefined);
  assert.equal(identifyProcess(['redis-rdb-bgsave 127.0.0.1:6379'], 'redis-server'), undefined, 'a BGSAVE child is not an instance');
  assert.equal(identifyProcess(['redis-cli', '-p', '6379'], 'redis-cli'), undefined);
  assert.equal(identifyProcess(['/opt/codis/bin/codis-server *:6379'], 'codis-server'), 'redis');
  assert.equal(identifyProcess(['/usr/sbin/nutcracker', '-d', '-c', '/etc/nutcracker/nutcracker.yml'], 'nutcracker'), 'nutcracker');
  assert.equal(identifyProcess(['./bin/codis-proxy', '--config=proxy.toml'], 'codis-proxy'), 'codis-proxy');
  assert.equal(identifyProcess(['vim', 'redis-server.conf'], 'vim'), undefined);
});

test('nutcracker and codis-proxy arguments, codis-proxy TOML', () => {
  assert.deepEqual(parseNutcrackerArgs(['/usr/sbin/nutcracker', '-c', '/etc/n.yml', '-s', '22223', '-a', '127.0.0.1', '-i', '1000']), {
    configFile: '/etc/n.yml',
    statsPort: 22223,
    statsAddr: '127.0.0.1',
  });
  assert.deepEqual(parseNutcrackerArgs(['nutcracker', '-dc', 'conf/n.yml', '-s22224']), {
    configFile: 'conf/n.yml',
    statsPort: 22224,
    statsAddr: '0.0.0.0',
  });
  assert.deepEqual(parseNutcrackerArgs(['nutcracker', '--conf-file=/a.yml', '--stats-port', '3000', '--stats-addr=::1']), {
    configFile: '/a.yml',
    statsPort: 3000,
    statsAddr: '::1',
  });
  assert.deepEqual(parseNutcrackerArgs(['nutcracker']), { statsPort: 22222, statsAddr: '0.0.0.0' }, 'nutcracker defaults');
  assert.deepEqual(parseNutcrackerArgs(['nutcracker', '-v', '11', '-s', 'x']), { statsPort: 22222, statsAddr: '0.0.0.0' });
  assert.deepEqual(parseCodisProxyArgs(['codis-proxy', '--ncpu=4', '--config=proxy.toml', '--log=proxy.log', '--product_name=p1']), {
    configFile: 'proxy.toml',
    productName: 'p1',
  });
  assert.deepEqual(parseCodisProxyArgs(['codis-proxy', '-c', '/etc/codis/proxy.toml']), { configFile: '/etc/codis/proxy.toml' });
  assert.deepEqual(parseCodisProxyArgs(['codis-proxy']), {});
  assert.deepEqual(
    parseCodisProxyToml(
      [
        '##################################################',
        '# Set Codis Product Name/Auth.',
        'product_name = "codis-demo"',
        'product_auth = ""',
        '',
        "admin_addr = '0.0.0.0:11080'",
        'proto_type = "tcp4"',
        'proxy_addr = "0.0.0.0:19000"   # data port',
        'proxy_max_clients = 1000',
        '[ignored]',
        'product_name = "nope"',
      ].join('\n'),
    ),
    { product_name: 'codis-demo', admin_addr: '0.0.0.0:11080', proto_type: 'tcp4', proxy_addr: '0.0.0.0:19000' },
  );
});

test('captured processes and sockets assemble into instances: loopback chosen for wildcards, plain port before TLS and cluster-bus ports', () => {
  const { instances, candidates, withoutListeners } = assembleInstances(capturedSnapshot());
  assert.equal(candidates, 6);
  assert.equal(withoutListeners, 0);
  const summary = instances.map((i) => [i.pid, i.kind, i.address, i.ports.join(',')]);
  assert.deepEqual(summary, [
    [7873, 'redis', '127.0.0.1:16379', '16379'],
    [7875, 'redis', '127.0.0.1:16380', '16380,26380'],
    [8077, 'redis', '127.0.0.1:16381', '16381,16382'],
    [8079, 'redis', '127.0.0.1:16383', '16383'],
    [7879, 'sentinel', '127.0.0.1:26390', '26390'],
    [7972, 'sentinel', '127.0.0.1:26391', '26391'],
  ]);
  const cluster = instances.find((i) => i.pid === 7875)!;
  assert.equal(cluster.kind === 'redis' && cluster.mode, 'cluster');
  assert.deepEqual(
    cluster.listening.map((s) => `${s.ip}/${s.port}`),
    ['0.0.0.0/16380', '::/16380', '0.0.0.0/26380', '::/26380'],
  );

  // fd00::2 + 127.0.0.1 → loopback; fd00::2 alone → that address, bracketed.
  const v6Listen = parseListenSockets(TCP6_GLOBAL_CAPTURE, parseListenSockets(TCP4_GLOBAL_CAPTURE));
  const v6Proc = (inodes: number[]) => ({
    processes: [
      { pid: 8250, kind: 'redis' as const, argv: ['redis-server fd00::2:16384'], comm: 'redis-server', socketInodes: inodes, netns: 'n' },
    ],
    listenByNetns: new Map([['n', v6Listen]]),
    ownNetns: 'n',
    pids: 1,
    permissionDenied: 0,
    vanished: 0,
  });
  assert.equal(assembleInstances(v6Proc([19118, 19119])).instances[0]!.address, '127.0.0.1:16384');
  assert.equal(assembleInstances(v6Proc([19118])).instances[0]!.address, '[fd00::2]:16384');
  // A TLS port below the plain one: the title's port still wins over the lowest.
  const tlsLow = capturedSnapshot();
  tlsLow.processes = [{ ...tlsLow.processes[4]!, argv: ['redis-server *:16382'] }];
  assert.deepEqual(
    assembleInstances(tlsLow).instances.map((i) => [i.address, i.ports]),
    [['127.0.0.1:16382', [16381, 16382]]],
  );
  // A fork child holding its parent's listener (higher pid) adds nothing; a zombie (no sockets) is no instance.
  const snap = capturedSnapshot();
  snap.processes.push(
    { ...snap.processes[0]!, pid: 9000 },
    { pid: 9001, kind: 'redis', argv: ['redis-server'], comm: 'redis-server', socketInodes: [], netns: 'net:[4026531840]' },
  );
  const withChild = assembleInstances(snap);
  assert.equal(withChild.instances.length, 6);
  assert.equal(withChild.withoutListeners, 2);
});

test('credentials: the first rule matching by port range or cluster wins; malformed ranges are refused', () => {
  assert.deepEqual(parsePortRanges('6379-6390, 7000'), [
    [6379, 6390],
    [7000, 7000],
  ]);
  for (const bad of ['', '6390-6379', '70000', 'a-b', '1,,2'])
    assert.throws(() => parsePortRanges(bad, 'discovery.credentials[0].ports'), /discovery\.credentials\[0\]\.ports/);
  const { instances } = assembleInstances(capturedSnapshot());
  const codis = {
    ...instances[0]!,
    kind: 'codis-proxy',
    pid: 1,
    port: 11080,
    address: '127.0.0.1:11080',
    ports: [11080, 19000],
    cluster: 'codis-demo',
  } as DiscoveredCodisProxy;
  const targets = resolveCredentials(
    [...instances, codis],
    [
      { ports: '16379-16380', user: 'mon', password: 'p1' },
      { ports: '16380,16381', password: 'never: 16380 already matched' },
      { cluster: 'codis-demo', password: 'codis-auth' },
      { ports: '26380-26399', cluster: 'sentinels-a' },
      { password: 'default' },
    ],
  );
  const byAddress = Object.fromEntries(targets.map((t) => [t.address, [t.rule, t.user, t.password, t.cluster]]));
  assert.deepEqual(byAddress, {
    '127.0.0.1:16379': [0, 'mon', 'p1', ''],
    '127.0.0.1:16380': [0, 'mon', 'p1', ''],
    '127.0.0.1:16381': [1, undefined, 'never: 16380 already matched', ''],
    '127.0.0.1:16383': [4, undefined, 'default', ''],
    '127.0.0.1:26390': [3, undefined, undefined, 'sentinels-a'],
    '127.0.0.1:26391': [3, undefined, undefined, 'sentinels-a'],
    '127.0.0.1:11080': [2, undefined, 'codis-auth', 'codis-demo'],
  });
  assert.ok(resolveCredentials(instances, []).every((t) => t.rule === -1 && t.password === undefined));
  // A cluster-only rule never matches an instance whose cluster is unknown.
  assert.ok(resolveCredentials(instances, [{ cluster: 'x', password: 'p' }]).every((t) => t.rule === -1));
});

test('configured instances win: same port on loopback, wildcard or the bound address is the same instance', () => {
  const { instances } = assembleInstances(capturedSnapshot());
  const configured = [
    { address: 'localhost:16379', cluster: 'a' },
    { address: '0.0.0.0:16381' },
    { address: '[::1]:26391' },
    { address: '10.99.0.1:16383' }, // another host
    { address: '127.0.0.1:26380' }, // the cluster-bus port of 16380: still that process
  ];
  const merged = mergeWithConfigured(configured, { instances });
  assert.deepEqual(merged.configured, configured, 'every configured instance is kept as given');
  assert.deepEqual(
    merged.shadowed.map((s) => [s.instance.pid, s.by]),
    [
      [7873, 'localhost:16379'],
      [7875, '127.0.0.1:26380'],
      [8077, '0.0.0.0:16381'],
      [7972, '[::1]:26391'],
    ],
  );
  assert.deepEqual(
    merged.discovered.map((i) => i.pid),
    [8079, 7879],
  );

  // This host's own interface address reaches an instance bound to the wildcard (7875: 0.0.0.0 and ::).
  const own = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && !a.internal && a.family === 'IPv4');
  assert.ok(own, 'this machine has a non-loopback IPv4 address');
  const byOwnIp = mergeWithConfigured([{ address: `${own.address}:16380` }, { address: `${own.address}:16379` }], instances);
  assert.deepEqual(
    byOwnIp.shadowed.map((s) => s.instance.pid),
    [7875],
    '16379 is bound to loopback only, so that address is another instance',
  );
  // A container's (other network namespace) 127.0.0.1 is not ours.
  const inContainer = instances.map((i) => (i.pid === 8077 ? { ...i, otherNetns: true } : i));
  assert.ok(mergeWithConfigured([{ address: '127.0.0.1:16381' }], inContainer).discovered.some((i) => i.pid === 8077));
});

test('processes exiting during scans (short-lived redis-server --version runs) never break a scan nor hide a steady instance', async (t) => {
  const h = await harness(t);
  const steady = await h.redis();
  let spawned = 0;
  let churnDone = false;
  // Six rounds of four redis-server processes that exit at once, while scans run back to back.
  const churn = (async () => {
    for (let round = 0; round < 6; round++) {
      await Promise.all(
        Array.from({ length: 4 }, () =>
          run('/usr/bin/redis-server', ['--version']).then(() => {
            spawned++;
          }),
        ),
      );
    }
  })().finally(() => {
    churnDone = true;
  });
  const stats = { scans: 0, vanished: 0 };
  while (!churnDone) {
    const found = await discoverLocal();
    stats.scans++;
    stats.vanished += found.stats.vanished;
    assert.equal(byPid(found, steady.pid).address, steady.address);
    assert.ok(
      found.instances.every((i) => i.ports.length > 0 && i.address !== ''),
      'no half-read instance',
    );
  }
  await churn;
  assert.equal(spawned, 24, 'the churn ran');
  t.diagnostic(`${stats.scans} scans, ${spawned} short-lived redis-server processes, ${stats.vanished} seen vanishing mid-scan`);
});
