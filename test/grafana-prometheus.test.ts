// The Grafana dashboards for a Prometheus-type datasource (grafana/dashboards-prometheus/, PromQL /
// MetricsQL): every metric a query names is `<measurement>_<field>` of a numeric field in
// proto/schema.ts, every datasource reference is the `DS` variable; and every panel target,
// variable query and event annotation, with its variables substituted, returns series from a real
// VictoriaMetrics written to by the real collector (`influx.flavor: victoriametrics`) from the real
// stack of test/grafana-stack.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MEASUREMENTS } from '../proto/index.js';
import { splitMetricName } from '../collector/victoria.js';
import { harness, waitFor, type VictoriaServer } from './harness/index.js';
import { datasourceProblems, escapeRegex, feedGrafanaStack } from './grafana-stack.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DASH_DIR = path.join(REPO, 'grafana/dashboards-prometheus');

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
}
interface Dashboard {
  uid: string;
  __inputs: { name: string; type: string; pluginId: string }[];
  templating: {
    list: { name: string; type: string; query: unknown; definition?: string; allValue?: string; current?: { value: unknown } }[];
  };
  annotations: { list: { name: string; builtIn?: number; expr?: string }[] };
  panels: { title: string; targets: Target[] }[];
}

const dashboards = (): Dashboard[] =>
  fs
    .readdirSync(DASH_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(DASH_DIR, f), 'utf8')) as Dashboard);
const queryVars = (d: Dashboard) => d.templating.list.filter((v) => v.type === 'query');

type Kind = 'variable' | 'range' | 'instant';
/** Every query of a dashboard with how Grafana runs it. */
function queries(d: Dashboard): { where: string; query: string; kind: Kind; annotation?: boolean }[] {
  return [
    ...queryVars(d).map((v) => ({ where: `${d.uid} variable $${v.name}`, query: v.definition!, kind: 'variable' as const })),
    ...d.panels.flatMap((p) =>
      p.targets.map((t) => ({
        where: `${d.uid} panel "${p.title}" ${t.refId}`,
        query: t.expr,
        kind: (t.instant ? 'instant' : 'range') as Kind,
      })),
    ),
    ...d.annotations.list
      .filter((a) => !a.builtIn)
      .map((a) => ({ where: `${d.uid} annotation "${a.name}"`, query: a.expr!, kind: 'range' as const, annotation: true })),
  ];
}

const BUILTIN_VARS = new Set(['__interval', '__rate_interval', '__range']);
const PROM_FUNCTIONS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'topk',
  'rate',
  'count_over_time',
  'max_over_time',
  'label_values',
  'by',
]);

/** Problems with one PromQL query: a metric that is no numeric field of proto/schema.ts, a label no tag of it, an undefined `$var`. */
export function promProblems(query: string, vars: Set<string>): string[] {
  const problems: string[] = [];
  const code = query.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  // Metric names: identifiers left once label matchers, `by (...)`, ranges, functions and label_values()'s label are gone.
  const bare = code
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\bby \([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/,\s*\w+\)$/, ')');
  const names = [...bare.matchAll(/\b([a-z][a-z0-9_]*)\b(?!\s*\()/g)].map((m) => m[1]!);
  for (const m of query.matchAll(/__name__=~"([^"]+)"/g)) names.push(...m[1]!.split('|'));
  const defs = [];
  for (const n of names) {
    const split = splitMetricName(n);
    const def = split && MEASUREMENTS[split.measurement];
    const fd = def?.fields[split!.field];
    if (!def || !fd) problems.push(`${n} is no <measurement>_<field> of proto/schema.ts`);
    else if (fd.type === 'string') problems.push(`${n} is a string field (not stored by VictoriaMetrics)`);
    else defs.push(def);
  }
  if (names.length === 0) problems.push('no metric');
  const labels = new Set<string>();
  for (const m of code.matchAll(/\{([^}]*)\}/g)) for (const l of m[1]!.matchAll(/(\w+)\s*=~?/g)) labels.add(l[1]!);
  for (const m of code.matchAll(/\bby \(([^)]*)\)/g)) for (const l of m[1]!.split(',')) labels.add(l.trim());
  const lv = /label_values\(.*,\s*(\w+)\)$/.exec(query);
  if (lv) labels.add(lv[1]!);
  for (const l of labels)
    if (l !== '__name__' && !defs.some((d) => d.tags.includes(l))) problems.push(`label ${l} is no tag of ${names.join(', ')}`);
  for (const m of code.matchAll(/\b([a-z_]+)\(/g))
    if (!PROM_FUNCTIONS.has(m[1]!)) problems.push(`function ${m[1]} is not one the dashboards use`);
  for (const m of query.matchAll(/\$(\w+)/g))
    if (!BUILTIN_VARS.has(m[1]!) && !vars.has(m[1]!)) problems.push(`variable $${m[1]} is not defined`);
  return problems;
}

/** Grafana's substitution as the test pins it: 1 h range, 10 s interval, 1 m rate interval. */
function substitute(query: string, values: Record<string, string>): string {
  return query
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '10s')
    .replaceAll('$__range', '1h')
    .replace(/\$(\w+)/g, (all, name: string) => (name in values ? values[name]! : all));
}

/** How many series a query answers, run as Grafana runs it. */
async function seriesOf(vm: VictoriaServer, kind: Kind, q: string): Promise<number> {
  if (kind === 'variable') {
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(q);
    if (!m) throw new Error(`not a label_values() query: ${q}`);
    return (await vm.labelValues(m[2]!, m[1]!)).length;
  }
  return (kind === 'instant' ? await vm.query(q) : await vm.queryRange(q)).length;
}

describe('grafana dashboards for a Prometheus datasource (VictoriaMetrics)', () => {
  test('every metric, label and variable a query names exists; every datasource is $DS (prometheus)', () => {
    const ds = dashboards();
    assert.deepEqual(ds.map((d) => d.uid).sort(), [
      'redis-fleet-host-prom',
      'redis-fleet-instance-prom',
      'redis-fleet-overview-prom',
      'redis-fleet-proxy-prom',
    ]);
    let checked = 0;
    for (const d of ds) {
      assert.deepEqual(datasourceProblems(d, 'prometheus'), [], `${d.uid}: the datasource variable`);
      assert.deepEqual(
        d.annotations.list.filter((a) => !a.builtIn).map((a) => a.name),
        ['Failovers', 'Fences', 'Forks', 'Down / up'],
        `${d.uid}: event annotations`,
      );
      const vars = new Set(queryVars(d).map((v) => v.name));
      for (const q of queries(d)) {
        assert.deepEqual(promProblems(q.query, vars), [], `${q.where}: ${q.query}`);
        checked++;
      }
    }
    assert.ok(checked >= 60, `${checked} queries checked`);
    // The check itself catches what it is for.
    const vars = new Set(['host']);
    assert.match(promProblems('max by (host) (host_cpu_percentage{host=~"$host"})', vars).join(), /host_cpu_percentage is no/);
    assert.match(promProblems('max(redis_rdb_last_bgsave_status)', vars).join(), /is a string field/);
    assert.match(promProblems('max by (hostname) (host_cpu_percent{host=~"$host"})', vars).join(), /label hostname/);
    assert.match(promProblems('max(host_cpu_percent{host=~"$hots"})', vars).join(), /\$hots is not defined/);
    assert.deepEqual(promProblems('label_values(redis_up{idc=~"$host"}, cluster)', vars), []);
  });

  test('every panel target, variable query and annotation returns series from the real stack in VictoriaMetrics', async (t) => {
    const h = await harness(t);
    const vm = await h.victoria();
    const collector = await h.collector({
      influx: { url: vm.url, flavor: 'victoriametrics', database: 'redisfleet', flushInterval: '200ms' },
    });
    const { master, replica } = await feedGrafanaStack(t, h, collector, async (address) =>
      (await vm.labelValues('instance', 'redis_used_memory')).includes(address),
    );

    const values: Record<string, Record<string, string[]>> = {
      'redis-fleet-overview-prom': { idc: ['sz-a'], cluster: ['c1'], host: ['gf-redis', 'gf-guard'] },
      'redis-fleet-instance-prom': { idc: ['sz-a'], cluster: ['c1'], host: ['gf-redis'], instance: [master.address] },
      'redis-fleet-host-prom': { idc: ['sz-a'], host: ['gf-redis'] },
      'redis-fleet-proxy-prom': { idc: ['sz-a'], host: ['gf-proxy'] },
    };
    // Grafana's Prometheus formatting of a regex variable: escaped, the backslashes doubled inside the PromQL string.
    const promRegex = (v: string): string => escapeRegex(v).replace(/\\/g, '\\\\');
    const selected = (uid: string): Record<string, string> =>
      Object.fromEntries(
        Object.entries(values[uid]!).map(([k, vs]) => [k, vs.length === 1 ? promRegex(vs[0]!) : `(${vs.map(promRegex).join('|')})`]),
      );
    const ds = dashboards();
    const runs: { where: string; kind: Kind; q: string }[] = [];
    for (const d of ds) {
      assert.ok(values[d.uid], `values for ${d.uid}`);
      const all = Object.fromEntries(queryVars(d).map((v) => [v.name, v.allValue ?? '.*']));
      for (const q of queries(d)) {
        if (!q.annotation) runs.push({ where: `${q.where} [selected]`, kind: q.kind, q: substitute(q.query, selected(d.uid)) });
        runs.push({ where: `${q.where} [All]`, kind: q.kind, q: substitute(q.query, all) });
      }
    }
    for (const r of runs) assert.doesNotMatch(r.q, /\$\w/, `${r.where}: every variable substituted: ${r.q}`);

    // Until every query answers with at least one series (rates need two samples); each pass retries what still fails.
    let failing = runs;
    const errors = new Map<string, string>();
    try {
      await waitFor(
        async () => {
          const next: typeof runs = [];
          for (const r of failing) {
            const n = await seriesOf(vm, r.kind, r.q).catch((err: Error) => {
              errors.set(r.where, err.message);
              return 0;
            });
            if (n === 0) next.push(r);
          }
          failing = next;
          return failing.length === 0;
        },
        { timeoutMs: 90_000, intervalMs: 2000, what: 'every dashboard query returning series' },
      );
    } catch (err) {
      assert.fail(
        `${failing.length} of ${runs.length} queries return nothing:\n${failing.map((r) => `${r.where}: ${errors.get(r.where) ?? 'no series'}\n    ${r.q}`).join('\n')}\n${(err as Error).message}`,
      );
    }

    // The variable queries offer the run's values.
    for (const d of ds) {
      for (const v of queryVars(d)) {
        const m = /^label_values\((.*),\s*(\w+)\)$/.exec(substitute(v.definition!, selected(d.uid)))!;
        const offered = await vm.labelValues(m[2]!, m[1]!);
        for (const want of values[d.uid]![v.name]!)
          assert.ok(offered.includes(want), `${d.uid} $${v.name} offers ${want} (got ${offered.join(', ')})`);
      }
    }
    // And the panels show what happened: the fenced master, the down event, the replica's lag series.
    const panel = (uid: string, title: string) =>
      ds.find((d) => d.uid === uid)!.panels.find((p) => p.title.startsWith(title))!.targets[0]!.expr;
    const fenced = await vm.query(
      substitute(panel('redis-fleet-overview-prom', 'Fenced instances'), selected('redis-fleet-overview-prom')),
    );
    assert.equal(Number(fenced[0]?.value?.[1]), 1, 'one fenced instance');
    const problems = await vm.query(
      substitute(panel('redis-fleet-overview-prom', 'Problem events'), { idc: '.*', cluster: '.*', host: '.*' }),
    );
    assert.ok(Number(problems[0]?.value?.[1]) >= 1, 'the instance.down event counts');
    const lag = await vm.queryRange(
      substitute(panel('redis-fleet-instance-prom', 'Replication: replica lag'), selected('redis-fleet-instance-prom')),
    );
    assert.ok(
      lag.some((s) => s.metric.replica === replica.address),
      "the replica's lag series",
    );
    // The collector's query API reads the same points back from VictoriaMetrics.
    const hist = await collector.api<{ points: { tags: Record<string, string>; fields: Record<string, number> }[] }>(
      `/api/v1/query?measurement=redis&instance=${encodeURIComponent(master.address)}&from=${Date.now() - 3_600_000}`,
    );
    assert.ok(hist.points.length > 0 && hist.points.every((p) => p.tags.instance === master.address), 'history points of the master');
    assert.ok(
      hist.points.some((p) => typeof p.fields.used_memory === 'number' && p.fields.used_memory > 0),
      'with used_memory',
    );
  });
});
