#!/usr/bin/env node
// npm start — the main job on this machine: install npm deps if missing, build, start a
// collector (embedded store) and an agent for this host, and print where to look.
//
//   npm start                                  monitor local Redis on 6379 (or a demo one)
//   npm start -- --redis 127.0.0.1:6380 ...    monitor these instances instead
//   REDIS_FLEET_HTTP=127.0.0.1:7401 REDIS_FLEET_GRPC=127.0.0.1:7400 npm start
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runDir = path.join(root, '.run');
const say = (msg) => process.stdout.write(`redis-fleet: ${msg}\n`);

function parseArgs(argv) {
  const redis = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--redis' && argv[i + 1]) redis.push(argv[++i]);
    else if (argv[i] === '--help' || argv[i] === '-h') {
      process.stdout.write('usage: npm start [-- --redis host:port ...]\n');
      process.exit(0);
    } else {
      process.stderr.write(`redis-fleet: unknown argument ${argv[i]} (try --help)\n`);
      process.exit(64);
    }
  }
  return { redis };
}

function ensureBuilt() {
  const r = spawnSync('bash', [path.join(root, 'scripts', 'ensure-deps.sh'), 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write('redis-fleet: install/build failed (see above)\n');
    process.exit(r.status ?? 1);
  }
}

/** Does something at host:port speak Redis? (PONG, or an auth error, counts.) */
function redisAnswers(host, port, timeoutMs = 700) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const done = (v) => { sock.destroy(); resolve(v); };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(/^\+PONG|^-NOAUTH|^-WRONGPASS|^-NOPERM/.test(buf));
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

async function portFree(host, port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

function which(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).stdout.trim() || null;
}

const children = [];
function startChild(name, cmd, args, logFile) {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', out] });
  children.push({ name, child });
  const lines = readline.createInterface({ input: child.stdout });
  lines.on('line', (l) => fs.appendFileSync(logFile, `${l}\n`));
  child.on('exit', (code, sig) => {
    if (!stopping) {
      say(`${name} exited (${sig ?? code}); see ${path.relative(process.cwd(), logFile)}`);
      shutdown(1);
    }
  });
  return { child, lines };
}

let stopping = false;
function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const { child } of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
  Promise.all(children.map(({ child }) => child.exitCode !== null ? null : new Promise((r) => child.once('exit', r))))
    .then(() => process.exit(code));
}

function yamlList(items) { return items.map((s) => `\n  - ${s}`).join(''); }

async function main() {
  const args = parseArgs(process.argv.slice(2));
  ensureBuilt();
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });

  const tokenFile = path.join(runDir, 'agent.token');
  if (!fs.existsSync(tokenFile)) fs.writeFileSync(tokenFile, `${crypto.randomBytes(24).toString('hex')}\n`, { mode: 0o600 });

  // Which Redis to monitor.
  let redis = args.redis;
  let demo = null;
  if (redis.length === 0) {
    if (await redisAnswers('127.0.0.1', 6379)) {
      redis = ['127.0.0.1:6379'];
      say('found a local Redis on 127.0.0.1:6379; monitoring it');
    } else if (which('redis-server')) {
      const port = await freePort();
      const dir = path.join(runDir, 'demo-redis');
      fs.mkdirSync(dir, { recursive: true });
      demo = startChild('demo redis-server', 'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory', '256mb'],
        path.join(runDir, 'demo-redis.log'));
      for (let i = 0; i < 50 && !(await redisAnswers('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 100));
      redis = [`127.0.0.1:${port}`];
      say(`no Redis on 6379: started a throwaway demo redis-server on 127.0.0.1:${port} (stops with this command)`);
    } else {
      say('no Redis answers on 127.0.0.1:6379 and redis-server is not installed.');
      say('  to monitor an instance:   npm start -- --redis HOST:PORT   (repeat for more)');
      say('  or install one:           apt-get install redis-server');
      say('the agent still reports this host\'s metrics meanwhile.');
    }
  }

  const grpcListen = process.env.REDIS_FLEET_GRPC ?? ((await portFree('127.0.0.1', 7400)) ? '127.0.0.1:7400' : '127.0.0.1:0');
  const httpListen = process.env.REDIS_FLEET_HTTP ?? ((await portFree('127.0.0.1', 7401)) ? '127.0.0.1:7401' : '127.0.0.1:0');
  const collectorCfg = path.join(runDir, 'collector.yaml');
  fs.writeFileSync(collectorCfg, [
    '# written by npm start; the embedded store keeps state and history in .run/collector.db',
    'grpc:', `  listen: ${grpcListen}`, `  tokenFile: ${tokenFile}`,
    'http:', `  listen: ${httpListen}`,
    'store:', `  path: ${path.join(runDir, 'collector.db')}`, '',
  ].join('\n'));

  say('starting the collector');
  const collector = startChild('collector', process.execPath, [path.join(root, 'dist/collector/main.js'), '--config', collectorCfg], path.join(runDir, 'collector.log'));
  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('collector did not start within 30 s; see .run/collector.log')), 30_000);
    collector.lines.on('line', (l) => {
      try {
        const j = JSON.parse(l);
        if (j.msg === 'listening') { clearTimeout(timer); resolve(j); }
      } catch { /* not JSON */ }
    });
  });

  const agentCfg = path.join(runDir, 'agent.yaml');
  fs.writeFileSync(agentCfg, [
    '# written by npm start',
    `hostId: ${os.hostname()}`,
    'labels: { env: dev }',
    'roles: [redis]',
    'interval: 10s',
    `statusFile: ${path.join(runDir, 'agent-status.json')}`,
    'collector:', `  addresses: [${listening.grpc}]`, `  tokenFile: ${tokenFile}`,
    redis.length ? `redis:${yamlList(redis.map((a) => `address: ${a}`))}` : 'redis: []', '',
  ].join('\n'));
  say('starting the agent');
  startChild('agent', process.execPath, [path.join(root, 'dist/agent/main.js'), '--config', agentCfg], path.join(runDir, 'agent.log'));

  const api = listening.http.replace(/\/$/, '');
  say('running. Where to look:');
  say(`  fleet console         ${api}/console`);
  say(`  HTTP API              ${api}/api/v1/instances   ${api}/api/v1/hosts   ${api}/healthz`);
  say(`  logs                  ${path.relative(process.cwd(), runDir)}/collector.log, agent.log`);
  say(`  this host             node dist/cli/main.js status --status-file ${path.relative(process.cwd(), path.join(runDir, 'agent-status.json'))}`);
  say(`  first samples arrive within one interval (10 s). Ctrl-C stops everything${demo ? ' (and the demo Redis)' : ''}.`);
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
main().catch((err) => { process.stderr.write(`redis-fleet: ${err.message}\n`); shutdown(1); });
