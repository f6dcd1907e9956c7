// Object copies (npm run bench -- object-copies): what a copy of a small record costs made by an
// object spread followed by more keys, against common/records.ts mergeRecords (Object.assign onto
// `{}`), on this node. Per copy: CPU, and the JS heap that 20,000 copies kept alive hold (each
// spread copy carries a hidden class of its own). The records are alert labels and instance tags
// as the collector makes them.
import v8 from 'node:v8';
import vm from 'node:vm';
import { fixed, table } from './lib.js';
import { mergeRecords } from '../../common/index.js';

type Labels = Record<string, string>;
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const KEPT = 20_000;
const CALLS = 1_000_000;
const series: Labels[] = Array.from({ length: 500 }, (_, i) => ({
  host: `h${i >> 3}`,
  idc: 'idc1',
  instance: `10.0.0.1:${6379 + i}`,
  cluster: 'c1',
  group: `g${i}`,
}));
const ruleLabels: Labels = { severity: 'page' };

const ways: [string, (s: Labels) => Labels][] = [
  ['{ ...series, ...rule.labels, alertname }', (s) => ({ ...s, ...ruleLabels, alertname: 'redis_down' })],
  ['mergeRecords(series, rule.labels, { alertname })', (s) => mergeRecords<Labels>(s, ruleLabels, { alertname: 'redis_down' })],
  [
    '{ ...tags } then tags.role = ...',
    (s) => {
      const t = { ...s };
      t.role = 'master';
      return t;
    },
  ],
  [
    'mergeRecords(tags) then tags.role = ...',
    (s) => {
      const t = mergeRecords<Labels>(s);
      t.role = 'master';
      return t;
    },
  ],
];

function nsPerCopy(make: (s: Labels) => Labels): number {
  let n = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) n += make(series[i % series.length]!).host!.length;
  const ns = Number(process.hrtime.bigint() - t0) / CALLS;
  if (n === 0) throw new Error('nothing made');
  return ns;
}

function keptBytesPerCopy(make: (s: Labels) => Labels): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = Array.from({ length: KEPT }, (_, i) => make(series[i % series.length]!));
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / kept.length;
  return kept.length ? bytes : 0;
}

console.log(
  `# object copies: ${CALLS.toLocaleString()} copies timed, ${KEPT.toLocaleString()} kept; node ${process.version}, ${new Date().toISOString()}`,
);
const rows: (string | number)[][] = [['copy', 'ns / copy (round 1, round 2)', 'heap bytes kept / copy']];
for (const [name, make] of ways)
  rows.push([name, `${fixed(nsPerCopy(make), 0)}, ${fixed(nsPerCopy(make), 0)}`, fixed(keptBytesPerCopy(make), 0)]);
console.log(table(rows));
