// Copies of tags and labels keep shared hidden classes (common/records.ts): the alert labels of
// every series, an instance's tags and a latest sample are copied per instance, and a class of
// their own per copy costs CPU and ~0.6 KB each (docs/benchmarks.md, "Object spread and hidden
// classes"). V8's own %HaveSameMap tells, in a child node started with --allow-natives-syntax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeRecords } from '../common/index.js';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('mergeRecords: later parts win, undefined parts are skipped, a __proto__ key stays a key', () => {
  assert.deepEqual(mergeRecords<Record<string, string>>({ a: '1', b: '2' }, undefined, { b: '3', c: '4' }), { a: '1', b: '3', c: '4' });
  const odd = JSON.parse('{"__proto__": "x", "host": "h1"}') as Record<string, string>;
  const merged = mergeRecords<Record<string, string>>(odd, { alertname: 'a' });
  assert.equal(Object.getPrototypeOf(merged), Object.prototype);
  assert.deepEqual(Object.keys(merged), ['__proto__', 'host', 'alertname']);
  assert.equal(Object.getOwnPropertyDescriptor(merged, '__proto__')?.value, 'x');
});

test('alert labels, instance tags and latest samples made per instance share one hidden class', () => {
  const script = `
    const { AlertTable } = await import(${JSON.stringify(path.join(dist, 'collector/alerting/alerts.js'))});
    const { instanceTags, withTag } = await import(${JSON.stringify(path.join(dist, 'collector/points.js'))});
    const { withoutSlowlog } = await import(${JSON.stringify(path.join(dist, 'proto/index.js'))});
    const rule = { name: 'redis_down', labels: { severity: 'page' } };
    const made = { labels: [], tags: [], replica: [], latest: [] };
    for (let i = 0; i < 500; i++) {
      const series = { host: 'h' + (i >> 3), idc: 'idc1', instance: '10.0.0.1:' + (6379 + i), cluster: 'c1', group: 'g' + i };
      made.labels.push(AlertTable.labelsFor(rule, series));
      const tags = instanceTags({ host: series.host, idc: 'idc1' }, { address: series.instance, up: true, role: 'master', cluster: 'c1', group: series.group });
      made.tags.push(tags);
      made.replica.push(withTag(tags, 'replica', '10.0.0.2:' + i));
      made.latest.push(withoutSlowlog({ address: series.instance, up: true, info: {}, slowlog: [{ id: i }] }));
    }
    const out = {};
    for (const [k, list] of Object.entries(made)) out[k] = list.filter((o) => %HaveSameMap(o, list[list.length - 1])).length;
    console.log(JSON.stringify(out));`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { labels: 500, tags: 500, replica: 500, latest: 500 });
});
