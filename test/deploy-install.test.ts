// deploy/install.sh and uninstall.sh into a throwaway root: twice gives the identical tree, the
// files, modes and units are right, the installed program runs, the example configs load, and
// uninstall removes what install added (configs and state kept unless --purge). The units are
// checked with `systemd-analyze verify` when it exists, and parsed for the keys they must have
// in any case.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { harness, PROGRAMS, programNodeFlags, TestCa, waitFor } from './harness/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const INSTALL = path.join(REPO, 'deploy/install.sh');
const UNINSTALL = path.join(REPO, 'deploy/uninstall.sh');
const PREFIX = '/opt/redis-fleet';

function run(script: string, args: string[]): string {
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${path.basename(script)} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout + r.stderr;
}

/** path → "type mode sha256|target" for every entry under root. */
function tree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const abs = path.join(dir, name);
      const rel = path.relative(root, abs);
      const st = fs.lstatSync(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(rel, `l ${fs.readlinkSync(abs)}`);
      else if (st.isDirectory()) {
        out.set(rel, `d ${mode}`);
        walk(abs);
      } else out.set(rel, `f ${mode} ${crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex')}`);
    }
  };
  walk(root);
  return out;
}

const mode = (file: string): string => (fs.statSync(file).mode & 0o7777).toString(8);

type Unit = Map<string, Map<string, string[]>>;
/** A unit file: section → key → values (in order; continuation lines joined). */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = new Map();
      unit.set(sec[1]!, section);
      continue;
    }
    const kv = /^([A-Za-z0-9]+)=(.*)$/.exec(line);
    assert.ok(kv && section, `not a unit line: ${line}`);
    const list = section.get(kv[1]!) ?? [];
    list.push(kv[2]!);
    section.set(kv[1]!, list);
  }
  return unit;
}
const one = (u: Unit, sec: string, key: string): string | undefined => u.get(sec)?.get(key)?.at(-1);

function checkUnitKeys(name: string, u: Unit): void {
  const svc = (k: string) => one(u, 'Service', k);
  assert.equal(svc('Type'), 'notify', `${name}: Type=notify`);
  assert.equal(svc('NotifyAccess'), 'all', `${name}: the helper's notifications are accepted`);
  assert.match(svc('WatchdogSec') ?? '', /^\d+s$/, `${name}: WatchdogSec`);
  assert.equal(svc('Restart'), 'on-failure');
  assert.ok(one(u, 'Unit', 'StartLimitBurst') && one(u, 'Unit', 'StartLimitIntervalSec'), `${name}: restart limits`);
  assert.equal(svc('RestartPreventExitStatus'), '78', `${name}: a config error is not restarted`);
  assert.equal(svc('User'), 'redis-fleet');
  assert.equal(svc('NoNewPrivileges'), 'yes');
  assert.equal(svc('ProtectSystem'), 'strict');
  assert.equal(svc('ProtectHome'), 'yes');
  assert.equal(svc('PrivateTmp'), 'yes');
  assert.ok((svc('ReadWritePaths') ?? '').includes('/var/lib/redis-fleet'), `${name}: state dir writable`);
  assert.equal(svc('StateDirectory'), 'redis-fleet');
  assert.ok(u.get('Service')!.has('CapabilityBoundingSet'), `${name}: CapabilityBoundingSet`);
  const exec = svc('ExecStart') ?? '';
  // With the node flags of the program's shebang (agent/main.ts).
  const program = name.includes('agent') ? PROGRAMS.agent : PROGRAMS.collector;
  const node = [process.execPath, ...programNodeFlags(program)].join(' ');
  assert.ok(exec.startsWith(`${node} ${PREFIX}/dist/`), `${name}: ExecStart runs the installed program with this node: ${exec}`);
  assert.equal(one(u, 'Install', 'WantedBy'), 'multi-user.target');
}

describe('deploy/install.sh', () => {
  test('install twice → identical tree; files, modes, units; the installed program runs; uninstall and --purge', async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-install-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    run(INSTALL, ['--root', root, '--node', process.execPath]);
    const first = tree(root);
    const token = fs.readFileSync(path.join(root, 'etc/redis-fleet/agent.token'), 'utf8');
    const out = run(INSTALL, ['--root', root, '--node', process.execPath]);
    const second = tree(root);
    const diff = [...new Set([...first.keys(), ...second.keys()])].filter((k) => first.get(k) !== second.get(k));
    assert.deepEqual(diff, [], 'the second run changes nothing');
    assert.doesNotMatch(out, /wrote /, 'the second run writes no config or token');
    assert.ok(first.size > 1000, `the program is there (${first.size} entries)`);

    // The program: dist without the test suite, runtime node_modules without dev dependencies.
    const p = path.join(root, PREFIX.slice(1));
    for (const f of [
      'dist/agent/main.js',
      'dist/collector/main.js',
      'dist/cli/main.js',
      'dist/common/sd-notify.js',
      'package.json',
      'node_modules/ioredis/package.json',
      'node_modules/better-sqlite3/package.json',
      'share/examples/agent-storage-host.yaml',
      'share/examples/agent-proxy-host.yaml',
      'share/examples/collector-influx.yaml',
      'grafana/provisioning/datasources/influxdb.yaml',
      'share/schema/agent.schema.json',
      'share/schema/collector.schema.json',
    ]) {
      assert.ok(fs.existsSync(path.join(p, f)), `${PREFIX}/${f}`);
    }
    assert.ok(!fs.existsSync(path.join(p, 'dist/test')), 'no compiled tests');
    assert.ok(!fs.existsSync(path.join(p, 'node_modules/typescript')), 'no dev dependencies');

    // Tokens: generated once, 64 hex, 0600; the collector accepts the agent's token.
    assert.match(token, /^[0-9a-f]{64}\n$/);
    assert.equal(fs.readFileSync(path.join(root, 'etc/redis-fleet/tokens'), 'utf8'), token);
    assert.equal(mode(path.join(root, 'etc/redis-fleet/agent.token')), '600');
    assert.equal(mode(path.join(root, 'etc/redis-fleet/tokens')), '600');
    assert.equal(mode(path.join(root, 'etc/redis-fleet/api-tokens')), '600');
    assert.match(
      fs.readFileSync(path.join(root, 'etc/redis-fleet/api-tokens'), 'utf8'),
      /^# name role sha256:<hex> — redis-fleet token create/,
    );
    assert.equal(mode(path.join(root, 'etc/redis-fleet')), '750');
    assert.equal(mode(path.join(root, 'etc/redis-fleet/agent.yaml')), '640');
    assert.equal(mode(path.join(root, 'var/lib/redis-fleet')), '750');
    assert.equal(mode(path.join(root, 'var/lib/redis-fleet/guard')), '700');
    for (const b of ['redis-fleet', 'redis-fleet-agent', 'redis-fleet-collector'])
      assert.equal(mode(path.join(root, 'usr/local/bin', b)), '755');

    // Units: placeholders filled, required keys, the agent ordered before Redis.
    const unitDir = path.join(root, 'etc/systemd/system');
    const units = ['redis-fleet-agent.service', 'redis-fleet-collector.service'];
    for (const name of units) {
      const text = fs.readFileSync(path.join(unitDir, name), 'utf8');
      assert.doesNotMatch(text, /@PREFIX@|@NODE@/);
      assert.equal(mode(path.join(unitDir, name)), '644');
      checkUnitKeys(name, parseUnit(text));
    }
    const agentUnit = parseUnit(fs.readFileSync(path.join(unitDir, units[0]!), 'utf8'));
    assert.ok((one(agentUnit, 'Unit', 'Before') ?? '').split(/\s+/).includes('redis-server.service'), 'agent Before=redis-server.service');
    const caps = (one(agentUnit, 'Service', 'CapabilityBoundingSet') ?? '').split(/\s+/).sort();
    assert.deepEqual(
      caps,
      ['CAP_DAC_READ_SEARCH', 'CAP_KILL', 'CAP_SYS_PTRACE'],
      'the agent keeps only what reading /proc of redis and killing a fork child need',
    );
    assert.deepEqual((one(agentUnit, 'Service', 'AmbientCapabilities') ?? '').split(/\s+/).sort(), caps);
    const collectorUnit = parseUnit(fs.readFileSync(path.join(unitDir, units[1]!), 'utf8'));
    assert.equal(one(collectorUnit, 'Service', 'CapabilityBoundingSet'), '', 'the collector has no capabilities');
    for (const r of ['redis-server.service', 'redis-server@.service', 'redis@.service']) {
      const dropIn = parseUnit(fs.readFileSync(path.join(unitDir, `${r}.d/redis-fleet.conf`), 'utf8'));
      assert.equal(one(dropIn, 'Unit', 'After'), 'redis-fleet-agent.service', `${r}: after the agent`);
      assert.equal(one(dropIn, 'Unit', 'Wants'), 'redis-fleet-agent.service', `${r}: wants (not requires) the agent`);
    }
    const analyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).stdout.trim();
    if (analyze) {
      const v = spawnSync(analyze, ['verify', ...units.map((u) => path.join(unitDir, u))], { encoding: 'utf8' });
      assert.equal(v.status, 0, `systemd-analyze verify: ${v.stderr}`);
      // verify exits 0 on unknown keys but says so: any line about our files is a failure.
      const ours = v.stderr.split('\n').filter((l) => units.some((u) => l.includes(u)));
      assert.deepEqual(ours, [], 'systemd-analyze verify has nothing to say about the units');
      for (const u of units) {
        const s = spawnSync(analyze, ['security', '--offline=true', path.join(unitDir, u)], { encoding: 'utf8' });
        const m = /Overall exposure level for \S+: ([\d.]+)/.exec(s.stdout + s.stderr);
        assert.ok(m, `systemd-analyze security answered for ${u}: ${s.stderr}`);
        assert.ok(Number(m[1]) <= 5, `${u}: exposure ${m[1]} (≤ 5, "OK" or better)`);
      }
    }

    // The installed program runs from its prefix: check-config on the installed default configs
    // (their absolute /etc paths pointed into the root) and on every example.
    const cfgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-install-cfg-'));
    t.after(() => fs.rmSync(cfgDir, { recursive: true, force: true }));
    for (const secret of ['agent.token', 'tokens', 'redis.pass', 'influx.pass', 'codis-orders.auth'])
      fs.writeFileSync(path.join(cfgDir, secret), 'secret\n', { mode: 0o600 });
    // The examples use TLS (/etc/redis-fleet/tls, as install.sh --tls-generate names the files).
    const tlsDir = path.join(cfgDir, 'tls');
    fs.mkdirSync(tlsDir);
    const exampleCa = TestCa.create(tlsDir, 'ca');
    exampleCa.issue({ cn: 'collector', san: ['DNS:localhost'], name: 'collector' });
    exampleCa.issue({ cn: 'agent', usage: 'client', name: 'agent' });
    fs.copyFileSync(path.join(root, 'etc/redis-fleet/api-tokens'), path.join(cfgDir, 'api-tokens'));
    fs.writeFileSync(
      path.join(cfgDir, 'nutcracker.yml'),
      'sessions:\n  listen: 127.0.0.1:22121\n  auto_eject_hosts: true\n  server_retry_timeout: 30000\n  servers:\n    - 127.0.0.1:6379:1\n',
    );
    const rewrite = (src: string, dst: string): string => {
      fs.writeFileSync(
        dst,
        fs
          .readFileSync(src, 'utf8')
          .replaceAll('/etc/redis-fleet/', `${cfgDir}/`)
          .replaceAll('/etc/nutcracker/nutcracker.yml', path.join(cfgDir, 'nutcracker.yml'))
          .replaceAll('/var/lib/redis-fleet', path.join(cfgDir, 'state')),
      );
      return dst;
    };
    const cli = path.join(p, 'dist/cli/main.js');
    const checks: [string, string][] = [
      ['agent', rewrite(path.join(root, 'etc/redis-fleet/agent.yaml'), path.join(cfgDir, 'agent.yaml'))],
      ['collector', rewrite(path.join(root, 'etc/redis-fleet/collector.yaml'), path.join(cfgDir, 'collector.yaml'))],
      ...['agent-storage-host', 'agent-proxy-host'].map((n): [string, string] => [
        'agent',
        rewrite(path.join(p, 'share/examples', `${n}.yaml`), path.join(cfgDir, `${n}.yaml`)),
      ]),
      ...['collector-influx', 'collector-embedded'].map((n): [string, string] => [
        'collector',
        rewrite(path.join(p, 'share/examples', `${n}.yaml`), path.join(cfgDir, `${n}.yaml`)),
      ]),
    ];
    for (const [kind, file] of checks) {
      const r = spawnSync(process.execPath, [cli, 'check-config', kind, file], {
        encoding: 'utf8',
        env: { ...process.env, REDIS_FLEET_SESSIONS_PASSWORD: 'x' },
      });
      assert.equal(r.status, 0, `installed check-config ${kind} ${path.basename(file)}: ${r.stdout}${r.stderr}`);
    }
    const launcher = fs.readFileSync(path.join(root, 'usr/local/bin/redis-fleet'), 'utf8');
    assert.ok(launcher.includes(`exec ${process.execPath} ${PREFIX}/dist/cli/main.js "$@"`));
    const agentFlags = [process.execPath, ...programNodeFlags(PROGRAMS.agent)].join(' ');
    const agentLauncher = fs.readFileSync(path.join(root, 'usr/local/bin/redis-fleet-agent'), 'utf8');
    assert.ok(agentLauncher.includes(`exec ${agentFlags} ${PREFIX}/dist/agent/main.js "$@"`), agentLauncher);

    // Uninstall: program, units, drop-ins and launchers go; configs, tokens and state stay.
    fs.writeFileSync(path.join(root, 'var/lib/redis-fleet/collector.db'), 'state');
    run(UNINSTALL, ['--root', root]);
    const left = tree(root);
    assert.ok(![...left.keys()].some((k) => k.startsWith('opt/redis-fleet')), 'program removed');
    assert.ok(
      ![...left.keys()].some((k) => k.startsWith('etc/systemd/system/') && left.get(k)!.startsWith('f')),
      'units and drop-ins removed',
    );
    assert.ok(![...left.keys()].some((k) => k.startsWith('usr/local/bin/') && left.get(k)!.startsWith('f')), 'launchers removed');
    assert.equal(fs.readFileSync(path.join(root, 'etc/redis-fleet/agent.token'), 'utf8'), token, 'token kept');
    assert.ok(fs.existsSync(path.join(root, 'var/lib/redis-fleet/collector.db')), 'state kept');
    // A reinstall keeps the old token and configs.
    run(INSTALL, ['--root', root, '--node', process.execPath]);
    assert.equal(fs.readFileSync(path.join(root, 'etc/redis-fleet/agent.token'), 'utf8'), token);
    const third = tree(root);
    const changed = [...first.keys()].filter((k) => first.get(k) !== third.get(k));
    assert.deepEqual(changed, [], 'uninstall + install gives the first tree back');
    run(UNINSTALL, ['--root', root, '--purge']);
    const files = [...tree(root)].filter(([, v]) => !v.startsWith('d'));
    assert.deepEqual(files, [], 'nothing of ours left after --purge');
  });

  test('--tls-generate: a CA, the collector and per-host agent certificates; the installed configs run with mutual TLS', async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-install-tls-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    const args = [
      '--root',
      root,
      '--node',
      process.execPath,
      '--tls-generate',
      '--tls-name',
      'collector.example.net',
      '--tls-agent',
      'db-1',
    ];
    run(INSTALL, args);
    const tlsDir = path.join(root, 'etc/redis-fleet/tls');
    const before = tree(tlsDir);
    assert.doesNotMatch(run(INSTALL, args), /wrote /, 'the second run keeps every certificate');
    assert.deepEqual(tree(tlsDir), before);
    const mode = (f: string) => (fs.statSync(path.join(tlsDir, f)).mode & 0o777).toString(8);
    assert.deepEqual(['ca.key', 'collector.key', 'agent.key', 'agent-db-1.key', 'ca.crt', 'collector.crt'].map(mode), [
      '600',
      '640',
      '640',
      '640',
      '644',
      '644',
    ]);
    const verify = spawnSync(
      'openssl',
      ['verify', '-CAfile', path.join(tlsDir, 'ca.crt'), ...['collector', 'agent', 'agent-db-1'].map((n) => path.join(tlsDir, `${n}.crt`))],
      { encoding: 'utf8' },
    );
    assert.equal(verify.status, 0, verify.stderr);
    const x509 = (n: string) => new crypto.X509Certificate(fs.readFileSync(path.join(tlsDir, `${n}.crt`)));
    assert.equal(x509('agent-db-1').subject, 'CN=db-1');
    assert.equal(x509('agent').subject, `CN=${os.hostname()}`);
    assert.match(x509('collector').subjectAltName ?? '', /DNS:localhost.*IP Address:127\.0\.0\.1.*DNS:collector\.example\.net/);

    // The written configs (paths into the root, free loopback ports): the agent, whose hostId is
    // the host name its certificate carries, reports over mutual TLS.
    const etc = (f: string) =>
      fs
        .readFileSync(path.join(root, 'etc/redis-fleet', f), 'utf8')
        .replaceAll('/etc/redis-fleet/', `${root}/etc/redis-fleet/`)
        .replaceAll('/var/lib/redis-fleet', path.join(root, 'var/lib/redis-fleet'));
    const { parse } = await import('yaml');
    const collectorCfg = parse(etc('collector.yaml'));
    const agentCfg = parse(etc('agent.yaml'));
    assert.equal(collectorCfg.grpc.listen, '0.0.0.0:7400', 'with TLS the collector serves the fleet');
    assert.ok(collectorCfg.grpc.tls.clientCaFile && agentCfg.collector.tls.certFile);
    const h = await harness(t);
    const redis = await h.redis();
    delete collectorCfg.grpc.listen;
    delete collectorCfg.http;
    const c = await h.collector(collectorCfg);
    agentCfg.collector.addresses = [c.grpcAddress];
    const a = await h.agent(
      { ...agentCfg, interval: '200ms', statusFile: '', discovery: { enabled: false }, redis: [{ address: redis.address }] },
      { collector: c },
    );
    await waitFor(async () => (await c.request(`/api/v1/hosts/${os.hostname()}`)).status === 200, {
      what: 'the installed agent reporting over mutual TLS',
      timeoutMs: 30_000,
    });
    assert.ok(a.running);
  });

  test('refuses to run as a non-root install on / and without a build; bad arguments are usage errors', () => {
    const r = spawnSync('bash', [INSTALL, '--bogus'], { encoding: 'utf8' });
    assert.equal(r.status, 64);
    const noBuild = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-install-src-'));
    try {
      fs.mkdirSync(path.join(noBuild, 'deploy'));
      fs.copyFileSync(INSTALL, path.join(noBuild, 'deploy/install.sh'));
      const r2 = spawnSync('bash', [path.join(noBuild, 'deploy/install.sh'), '--root', path.join(noBuild, 'root')], { encoding: 'utf8' });
      assert.equal(r2.status, 66, r2.stderr);
      assert.match(r2.stderr, /build first/);
      assert.ok(!fs.existsSync(path.join(noBuild, 'root')), 'nothing installed');
    } finally {
      fs.rmSync(noBuild, { recursive: true, force: true });
    }
    const u = spawnSync('bash', [UNINSTALL, '--root', '/tmp/x', '--prefix', '/'], { encoding: 'utf8' });
    assert.equal(u.status, 64, 'uninstall never removes --prefix /');
    execFileSync('bash', ['-n', INSTALL]);
    execFileSync('bash', ['-n', UNINSTALL]);
  });
});
