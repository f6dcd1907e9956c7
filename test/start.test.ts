// `npm start` on its own (scripts/start.mjs, state in a temp REDIS_FLEET_RUN_DIR): no build when
// dist/ is current, an operator token and a console link that signs in, a taken HTTP port moved
// with the CLI lines naming the right --url (and they work), "first report received from <host>",
// and Ctrl-C stops everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { harness, freePort, canConnect, spawnManaged, waitFor, REPO_ROOT } from './harness/index.js';

test('npm start alone: operator token, a console link that signs in, a moved port said, CLI lines that work, the first report', async (t) => {
  const h = await harness(t);
  const redis = await h.redis();
  const runDir = await h.tempDir('npm-start');
  // Someone already holds the HTTP port npm start is asked for: it must move and say so.
  const squatter = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => squatter.once('listening', r));
  t.after(() => squatter.close());
  const takenPort = (squatter.address() as net.AddressInfo).port;
  const grpcPort = await freePort();

  let out = '';
  const start = spawnManaged({
    name: 'npm-start',
    command: process.execPath,
    args: [path.join(REPO_ROOT, 'scripts/start.mjs'), '--redis', redis.address],
    cwd: REPO_ROOT,
    logFile: path.join(runDir, 'start.out'),
    stderrFile: path.join(runDir, 'start.err'),
    env: { REDIS_FLEET_RUN_DIR: runDir, REDIS_FLEET_HTTP: `127.0.0.1:${takenPort}`, REDIS_FLEET_GRPC: `127.0.0.1:${grpcPort}` },
    onStdout: (c) => {
      out += c.toString('utf8');
    },
  });
  h.adopt(start);
  const line = (re: RegExp, what: string, timeoutMs = 60_000) =>
    waitFor(
      () => {
        if (!start.running) throw new Error(`npm start exited before ${what}:\n${out}\n${start.tail(20)}`);
        return re.exec(out);
      },
      { what, timeoutMs },
    );

  const first = await line(/^redis-fleet: first report received from (\S+)$/m, 'the first report line', 120_000);
  assert.equal(first[1], os.hostname());
  assert.match(out, /^redis-fleet: dist\/ is up to date with the sources: not building$/m);
  assert.match(out, /^redis-fleet: made an operator API token: .*operator\.token/m);
  const moved =
    /^redis-fleet: NOTE: 127\.0\.0\.1:(\d+) is taken \(another collector\?\): the HTTP API listens on (127\.0\.0\.1:\d+) instead$/m.exec(
      out,
    );
  assert.ok(moved, `no port-moved line in:\n${out}`);
  assert.equal(Number(moved[1]), takenPort);
  const url = `http://${moved[2]}`;

  // The console link carries the operator token; it signs in as npm-start (operator).
  const link = new RegExp(`^redis-fleet:\\s+fleet console\\s+(${url.replace(/[.]/g, '\\.')}/console#token=(rfapi_\\S+))$`, 'm').exec(out);
  assert.ok(link, `no console link in:\n${out}`);
  const token = link[2]!;
  assert.equal(fs.readFileSync(path.join(runDir, 'operator.token'), 'utf8').trim(), token);
  assert.equal(fs.statSync(path.join(runDir, 'operator.token')).mode & 0o777, 0o600);
  assert.ok(!fs.readFileSync(path.join(runDir, 'api-tokens'), 'utf8').includes(token), 'the token file keeps only the hash');
  const who = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  assert.deepEqual(await who.json(), { name: 'npm-start', role: 'operator' });
  assert.equal((await fetch(`${url}/api/v1/hosts`)).status, 401, 'the API is not open');
  assert.equal((await fetch(link[1]!.split('#')[0]!)).status, 200);

  // The printed CLI line names the moved URL and the token file, and it works as printed.
  const cliLine = /^redis-fleet:\s+the CLI\s+(node \S+ collector --url (\S+) --token-file (\S+) hosts)$/m.exec(out);
  assert.ok(cliLine, `no CLI line in:\n${out}`);
  assert.equal(cliLine[2], url);
  const [, script, ...args] = cliLine[1]!.split(' ');
  const hosts = await promisify(execFile)(process.execPath, [script!, ...args], { cwd: REPO_ROOT, timeout: 20_000 });
  assert.match(hosts.stdout, new RegExp(`^${os.hostname().replace(/[.]/g, '\\.')}\\s+up\\s+redis`, 'm'));
  const logs = ['collector.log', 'agent.log'].map((f) => fs.readFileSync(path.join(runDir, f), 'utf8')).join('');
  assert.ok(!logs.includes(token), 'the token is in no log');

  // Ctrl-C stops the collector and the agent with it.
  start.signal('SIGINT');
  const exit = await start.waitExit(20_000);
  assert.equal(exit?.code, 0, start.tail(20));
  await waitFor(async () => !(await canConnect(grpcPort)), { what: 'the collector gone', timeoutMs: 15_000 });
});
