// The line-protocol writer keeps an instance's escaped tags from report to report (per hello):
// a change of role, up/down, cluster or group is written at once, as the points would write it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeLazySamples, encodeRedisSamples, type RedisSample, type Report } from '../proto/index.js';
import { reportPoints } from '../collector/points.js';
import { encodeLines } from '../collector/line-protocol.js';
import { reportLines } from '../collector/report-lines.js';
import { fixtureSample } from './form2-support.js';

function report(samples: RedisSample[], form2: boolean): Report {
  return {
    seq: 1,
    timestampMs: 1_795_345_417_000,
    redis: form2 ? decodeLazySamples(encodeRedisSamples(samples)).samples : samples,
    proxies: [],
    events: [],
  };
}

test('an instance whose role, state, cluster or group changes gets its new tags on the next report', () => {
  const src = { hostId: 'h1', labels: { idc: 'bj' } };
  // tags without escaped spaces: a line splits at its unescaped spaces below
  const master = { ...fixtureSample('master', '10.0.0.1:6379'), cluster: 'c1' };
  const steps: RedisSample[] = [
    master,
    { ...master, role: 'slave' },
    { ...master, role: 'slave', up: false, error: 'refused', info: {}, unavailable: ['INFO'] },
    { ...master, cluster: 'c2' },
    { ...master, cluster: 'c2', group: 'g9' },
    master,
  ];
  for (const form2 of [false, true])
    for (const s of steps) {
      const r = report([s], form2);
      const lines = reportLines(r, src).lines.toString();
      assert.ok(lines.includes(s.up ? `role=${s.role}` : 'redis,'), lines.slice(0, 200));
      assert.deepEqual(
        canonical(lines),
        canonical(encodeLines(reportPoints(r, src)).lines.toString()),
        `${s.role} ${s.up} ${s.cluster} ${s.group}`,
      );
    }
});

/** A line with its fields sorted (the two writers may order a line's fields differently). */
function sortedFields(line: string): string {
  const m = /^(\S+) (.*) (\S+)$/.exec(line);
  return m ? `${m[1]} ${m[2]!.split(',').sort().join(',')} ${m[3]}` : line;
}

function canonical(text: string): string[] {
  return text.split('\n').filter(Boolean).map(sortedFields).sort();
}

test('rows whose commands, dbs or replicas change from report to report get their own tags, as the points write them', () => {
  const src = { hostId: 'h2', labels: { idc: 'bj' } };
  const master = { ...fixtureSample('master', '10.0.0.2:6379'), cluster: 'c1' };
  const cmds = master.commandstats;
  const lat = master.latencystats;
  const renamed = (name: string) => cmds.map((c, i) => (i === 2 ? { ...c, command: name } : c));
  const steps: RedisSample[] = [
    master,
    { ...master, commandstats: [...cmds].reverse(), latencystats: [...lat].reverse() },
    { ...master, commandstats: [{ ...cmds[0]!, command: 'brand|new' }, ...cmds], latencystats: lat.slice(3) },
    { ...master, commandstats: renamed('get'), latencystats: [] },
    // same length as the name it replaces, then one that needs escaping, one that is not ASCII, one past the kept length
    { ...master, commandstats: renamed(cmds[2]!.command.replace(/^./, 'x')) },
    { ...master, commandstats: renamed('a b,c=d') },
    { ...master, commandstats: renamed('命令') },
    { ...master, commandstats: renamed('y'.repeat(100)), keyspace: [{ ...master.keyspace[0]!, db: 'db7' }] },
    { ...master, keyspace: [], replicas: master.replicas.map((r) => ({ ...r, state: 'wait_bgsave' })) },
    master,
  ];
  for (const form2 of [false, true])
    for (const [i, s] of steps.entries()) {
      const r = report([s], form2);
      assert.deepEqual(
        canonical(reportLines(r, src).lines.toString()),
        canonical(encodeLines(reportPoints(r, src)).lines.toString()),
        `step ${i}`,
      );
    }
});
