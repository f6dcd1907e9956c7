#!/usr/bin/env node
// npm start — the main job on this machine: install npm deps if missing, build (only when a
// source changed), start a collector (embedded store) and an agent for this host, make an
// operator API token, and print where to look (a console link that signs in, CLI lines).
//
//   npm start                                  monitor local Redis on 6379 (or a demo one)
//   npm start -- --redis 127.0.0.1:6380 ...    monitor these instances instead
//   REDIS_FLEET_HTTP=127.0.0.1:7401 REDIS_FLEET_GRPC=127.0.0.1:7400 npm start
//   (a taken port moves to a free one, and the output says so)
//   REDIS_FLEET_RUN_DIR=/tmp/x npm start      state, logs and tokens there instead of .run/
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs as utilParseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runDir = path.resolve(process.env.REDIS_FLEET_RUN_DIR ?? path.join(root, '.run'));
const rel = (p) => {
  const r = path.relative(process.cwd(), p);
  return r.startsWith('..') ? p : r || '.';
};
const say = (msg) => process.stdout.write(`redis-fleet: ${msg}\n`);

const USAGE = 'usage: npm start [-- --redis host:port ...]';

/** Strict, like the CLI and the daemons: an unknown flag is exit 64 with the usage. */
function parseArgs(argv) {
  let parsed;
  try {
    parsed = utilParseArgs({
      args: argv,
      options: { redis: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    process.stderr.write(`redis-fleet: ${err.message.split(/\.\s/)[0]}\n${USAGE}\n`);
    process.exit(64);
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  return { redis: parsed.values.redis ?? [] };
}

const SOURCE_DIRS = ['common', 'proto', 'agent', 'collector', 'proxy', 'sentinel-guard', 'grafana', 'cli', 'test'];
const OUTPUTS = ['dist/agent/main.js', 'dist/collector/main.js', 'dist/cli/main.js'];

/** Newest mtime of the TypeScript sources (and the files that steer the build). */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|proto|json)$/.test(e.name)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const d of SOURCE_DIRS) if (fs.existsSync(path.join(root, d))) walk(path.join(root, d));
  for (const f of ['tsconfig.json', 'package-lock.json']) newest = Math.max(newest, fs.statSync(path.join(root, f)).mtimeMs);
  return newest;
}

/** Why a build is needed, or null when dist/ is newer than every source (tsc rewrites every output). */
function buildReason() {
  const built = OUTPUTS.map((f) => {
    try {
      return fs.statSync(path.join(root, f)).mtimeMs;
    } catch {
      return -1;
    }
  });
  if (built.some((t) => t < 0)) return 'dist/ is missing';
  return newestSource() > Math.min(...built) ? 'sources changed since the last build' : null;
}

function ensureBuilt() {
  const step = (what) => {
    const r = spawnSync('bash', [path.join(root, 'scripts', 'ensure-deps.sh'), what], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.status !== 0) {
      process.stderr.write('redis-fleet: install/build failed (see above)\n');
      process.exit(r.status ?? 1);
    }
  };
  step('npm');
  const why = buildReason();
  if (!why) {
    say('dist/ is up to date with the sources: not building');
    return;
  }
  const t0 = Date.now();
  say(`${why}: building (tsc, about a minute)`);
  step('build');
  say(`built in ${Math.round((Date.now() - t0) / 1000)} s`);
}

/** The operator token npm start signs in with: kept in runDir (plain, 0600) and hashed in the collector's token file. */
async function operatorToken() {
  const { generateApiToken, hashApiToken, parseApiTokens } = await import(path.join(root, 'dist/collector/index.js'));
  const tokenFile = path.join(runDir, 'operator.token');
  const apiTokens = path.join(runDir, 'api-tokens');
  let token = fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : '';
  const known = fs.existsSync(apiTokens) ? parseApiTokens(fs.readFileSync(apiTokens, 'utf8'), apiTokens) : [];
  const mine = known.find((e) => e.name === 'npm-start');
  if (!token || !mine || mine.hash !== hashApiToken(token)) {
    token = generateApiToken();
    fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const others = known.filter((e) => e.name !== 'npm-start').map((e) => `${e.name} ${e.role} ${e.hash}`);
    fs.writeFileSync(apiTokens, [...others, `npm-start operator ${hashApiToken(token)}`, ''].join('\n'), { mode: 0o600 });
    say(`made an operator API token: ${rel(tokenFile)} (its hash is in ${rel(apiTokens)}, the collector's http.tokenFile)`);
  }
  return { token, tokenFile, apiTokens };
}

/** `preferred` (host:port) when free, else a free port on the same host, saying so. */
async function listenAddress(what, preferred) {
  const m = /^(.*):(\d+)$/.exec(preferred);
  const host = m ? m[1] : '127.0.0.1';
  const port = m ? Number(m[2]) : 0;
  if (port === 0 || (await portFree(host, port))) return { address: `${host}:${port}`, moved: false };
  return { address: `${host}:0`, moved: true, taken: `${host}:${port}`, what };
}

/** Does something at host:port speak Redis? (PONG, or an auth error, counts.) */
function redisAnswers(host, port, timeoutMs = 700) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const done = (v) => {
      sock.destroy();
      resolve(v);
    };
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
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function portFree(host, port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** The node flags a program's shebang carries (agent/main.ts, collector/main.ts: V8 heap sizing), as deploy/install.sh runs it. */
function shebangNodeFlags(script) {
  const m = /^#!.*[/ ]node((?:\s+--\S+)*)\s*$/.exec(fs.readFileSync(script, 'utf8').split('\n', 1)[0]);
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
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
  Promise.all(children.map(({ child }) => (child.exitCode !== null ? null : new Promise((r) => child.once('exit', r))))).then(() =>
    process.exit(code),
  );
}

function yamlList(items) {
  return items.map((s) => `\n  - ${s}`).join('');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  ensureBuilt();
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });

  const api = await operatorToken();
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
      demo = startChild(
        'demo redis-server',
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory', '256mb'],
        path.join(runDir, 'demo-redis.log'),
      );
      for (let i = 0; i < 50 && !(await redisAnswers('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 100));
      redis = [`127.0.0.1:${port}`];
      say(`no Redis on 6379: started a throwaway demo redis-server on 127.0.0.1:${port} (stops with this command)`);
    } else {
      say('no Redis answers on 127.0.0.1:6379 and redis-server is not installed.');
      say('  to monitor an instance:   npm start -- --redis HOST:PORT   (repeat for more)');
      say('  or install one:           apt-get install redis-server');
      say("the agent still reports this host's metrics meanwhile.");
    }
  }

  const grpc = await listenAddress('gRPC (agents)', process.env.REDIS_FLEET_GRPC ?? '127.0.0.1:7400');
  const http = await listenAddress('HTTP API', process.env.REDIS_FLEET_HTTP ?? '127.0.0.1:7401');
  const grpcListen = grpc.address;
  const httpListen = http.address;
  const collectorCfg = path.join(runDir, 'collector.yaml');
  fs.writeFileSync(
    collectorCfg,
    [
      '# written by npm start; the embedded store keeps state and history in .run/collector.db',
      'grpc:',
      `  listen: ${grpcListen}`,
      `  tokenFile: ${tokenFile}`,
      'http:',
      `  listen: ${httpListen}`,
      `  tokenFile: ${api.apiTokens}`,
      'store:',
      `  path: ${path.join(runDir, 'collector.db')}`,
      '',
    ].join('\n'),
  );

  say('starting the collector');
  const collectorMain = path.join(root, 'dist/collector/main.js');
  const collector = startChild(
    'collector',
    process.execPath,
    [...shebangNodeFlags(collectorMain), collectorMain, '--config', collectorCfg],
    path.join(runDir, 'collector.log'),
  );
  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('collector did not start within 30 s; see .run/collector.log')), 30_000);
    collector.lines.on('line', (l) => {
      try {
        const j = JSON.parse(l);
        if (j.msg === 'listening') {
          clearTimeout(timer);
          resolve(j);
        }
      } catch {
        /* not JSON */
      }
    });
  });

  const agentCfg = path.join(runDir, 'agent.yaml');
  fs.writeFileSync(
    agentCfg,
    [
      '# written by npm start',
      `hostId: ${os.hostname()}`,
      'labels: { env: dev }',
      'roles: [redis]',
      'interval: 10s',
      `statusFile: ${path.join(runDir, 'agent-status.json')}`,
      'collector:',
      `  addresses: [${listening.grpc}]`,
      `  tokenFile: ${tokenFile}`,
      redis.length ? `redis:${yamlList(redis.map((a) => `address: ${a}`))}` : 'redis: []',
      '',
    ].join('\n'),
  );
  say('starting the agent');
  const agentMain = path.join(root, 'dist/agent/main.js');
  startChild('agent', process.execPath, [...shebangNodeFlags(agentMain), agentMain, '--config', agentCfg], path.join(runDir, 'agent.log'));

  const url = listening.http.replace(/\/$/, '');
  for (const p of [grpc, http]) {
    if (!p.moved) continue;
    const now = p.what === 'HTTP API' ? url : listening.grpc;
    say(`NOTE: ${p.taken} is taken (another collector?): the ${p.what} listens on ${now.replace(/^http:\/\//, '')} instead`);
  }
  const cliUrl = url === 'http://127.0.0.1:7401' ? '' : ` --url ${url}`;
  const cli = `node ${rel(path.join(root, 'dist/cli/main.js'))}`;
  say('running. Where to look:');
  say(`  fleet console         ${url}/console#token=${api.token}`);
  say(`                        (this link signs in as the operator token in ${rel(api.tokenFile)}; it is not stored in the address bar)`);
  say(
    `  HTTP API              ${url}/api/v1/instances   ${url}/api/v1/hosts   ${url}/healthz   (Authorization: Bearer $(cat ${rel(api.tokenFile)}))`,
  );
  say(`  the CLI               ${cli} collector${cliUrl} --token-file ${rel(api.tokenFile)} hosts`);
  say(`                        ${cli} collector${cliUrl} --token-file ${rel(api.tokenFile)} instances`);
  say(`  more API tokens       ${cli} token create NAME viewer|operator|admin --file ${rel(api.apiTokens)}`);
  say(`  logs                  ${rel(runDir)}/collector.log, agent.log`);
  say(`  this host             ${cli} status --status-file ${rel(path.join(runDir, 'agent-status.json'))}`);
  say(`  first samples arrive within one interval (10 s). Ctrl-C stops everything${demo ? ' (and the demo Redis)' : ''}.`);
  await firstReport(url, api.token);
}

/** Polls the API until a host has reported; says which (once). */
async function firstReport(url, token) {
  const deadline = Date.now() + 120_000;
  while (!stopping && Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/api/v1/hosts`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
      const first = res.ok ? ((await res.json()).hosts ?? []).find((h) => h.lastReportAt) : undefined;
      if (first) {
        say(`first report received from ${first.id}`);
        return;
      }
    } catch {
      /* the collector is starting or busy: try again */
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (!stopping) say(`no report after 2 minutes: see ${rel(runDir)}/agent.log`);
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
main().catch((err) => {
  process.stderr.write(`redis-fleet: ${err.message}\n`);
  shutdown(1);
});
