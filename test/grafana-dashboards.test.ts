// The Grafana dashboards: generated from grafana/dashboards.ts; every measurement, field and tag a
// query names exists in proto/schema.ts; and every panel target and variable query, with its
// variables substituted, returns series from a real InfluxDB fed by the real stack (Redis master +
// replica + a standalone that goes down, nutcracker, a codis-proxy admin API serving a captured
// overview, agents, collector with the influx sink; guard state from a synthetic reporter over the
// real gRPC protocol).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MEASUREMENTS } from '../proto/index.js';
import { renderAll } from '../grafana/dashboards.js';
import { harness, waitFor, type InfluxServer } from './harness/index.js';
import { datasourceProblems, escapeRegex, feedGrafanaStack } from './grafana-stack.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DASH_DIR = path.join(REPO, 'grafana/dashboards');
const DB = 'redisfleet';

interface Target {
  refId: string;
  query: string;
  rawQuery: boolean;
  alias?: string;
}
interface Dashboard {
  uid: string;
  title: string;
  __inputs: { name: string; type: string; pluginId: string }[];
  templating: { list: { name: string; type: string; query: string; allValue?: string; current?: { value: unknown } }[] };
  annotations: { list: { name: string; builtIn?: number; query?: string; datasource: { type: string; uid: string } }[] };
  panels: { title: string; datasource: { uid: string }; targets: Target[] }[];
}

function dashboards(): Dashboard[] {
  return fs
    .readdirSync(DASH_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(DASH_DIR, f), 'utf8')) as Dashboard);
}

/** The query variables (the datasource variable `DS` has no query). */
const queryVars = (d: Dashboard) => d.templating.list.filter((v) => v.type === 'query');

/** Every query of a dashboard: panel targets, variable queries and event annotations, with where they come from. */
function queries(d: Dashboard): { where: string; query: string; alias?: string; annotation?: boolean }[] {
  return [
    ...queryVars(d).map((v) => ({ where: `${d.uid} variable $${v.name}`, query: v.query })),
    ...d.panels.flatMap((p) => p.targets.map((t) => ({ where: `${d.uid} panel "${p.title}" ${t.refId}`, query: t.query, alias: t.alias }))),
    ...d.annotations.list
      .filter((a) => !a.builtIn)
      .map((a) => ({ where: `${d.uid} annotation "${a.name}"`, query: a.query!, annotation: true })),
  ];
}

const BUILTIN_VARS = new Set(['timeFilter', '__interval']);
const FUNCTIONS = /\b([a-z_]+)\(/g;

/**
 * Problems with one InfluxQL query against proto/schema.ts: a measurement that does not exist, a
 * quoted identifier that is neither one of its FROM measurements' fields or tags nor an alias, a
 * `$tag_x` alias naming a tag it lacks, a `$var` the dashboard does not define.
 */
export function schemaProblems(query: string, alias: string | undefined, vars: Set<string>): string[] {
  const problems: string[] = [];
  const from: string[] = [];
  for (const m of query.matchAll(/\bFROM\s+((?:"[^"]+"\s*,\s*)*"[^"]+")/g)) {
    for (const n of m[1]!.matchAll(/"([^"]+)"/g)) from.push(n[1]!);
  }
  if (from.length === 0) problems.push('no FROM "measurement"');
  const defs = from.map((n) => MEASUREMENTS[n]);
  from.forEach((n, i) => {
    if (!defs[i]) problems.push(`measurement ${n} is not in proto/schema.ts`);
  });
  const known = defs.filter((d) => d !== undefined);
  const aliases = new Set([...query.matchAll(/\bAS\s+"([^"]+)"/g)].map((m) => m[1]!));
  const fns = new Set([...query.matchAll(FUNCTIONS)].map((m) => m[1]!));
  const isField = (n: string) => known.some((d) => d.fields[n] !== undefined);
  const isTag = (n: string) => known.some((d) => d.tags.includes(n));
  // Strip string and regex literals before looking at identifiers.
  const code = query.replace(/'(?:[^'\\]|\\.)*'/g, "''").replace(/=~\s*\/(?:[^/\\]|\\.)*\//g, '=~ //');
  for (const m of code.matchAll(/"([^"]+)"/g)) {
    const n = m[1]!;
    if (from.includes(n) || aliases.has(n) || isField(n) || isTag(n)) continue;
    if (fns.has(n) && /\(\s*SELECT/i.test(query)) continue; // the default column of a subquery's fn(): count("last")
    problems.push(`${n} is neither a field nor a tag of ${from.join(', ')}`);
  }
  for (const m of (alias ?? '').matchAll(/\$tag_(\w+)/g))
    if (!isTag(m[1]!)) problems.push(`alias $tag_${m[1]} names no tag of ${from.join(', ')}`);
  for (const m of query.matchAll(/\$(\w+)/g))
    if (!BUILTIN_VARS.has(m[1]!) && !vars.has(m[1]!)) problems.push(`variable $${m[1]} is not defined`);
  return problems;
}

/** Grafana's substitution as the test pins it: 1 h range, 10 s interval, regex variables. */
function substitute(query: string, values: Record<string, string>): string {
  return query
    .replaceAll('$timeFilter', 'time > now() - 1h')
    .replaceAll('$__interval', '10s')
    .replace(/\$(\w+)/g, (all, name: string) => (name in values ? values[name]! : all));
}

async function seriesOf(influx: InfluxServer, q: string): Promise<{ n: number; error?: string }> {
  const r = await influx.query(q, DB);
  const res = r.results[0];
  if (res?.error) return { n: 0, error: res.error };
  return { n: res?.series?.length ?? 0 };
}

describe('grafana dashboards', () => {
  test('grafana/dashboards/*.json are generated from grafana/dashboards.ts (node dist/grafana/generate.js)', () => {
    const want = renderAll();
    const onDisk = ['dashboards', 'dashboards-prometheus']
      .flatMap((dir) =>
        fs
          .readdirSync(path.join(REPO, 'grafana', dir))
          .filter((f) => f.endsWith('.json'))
          .map((f) => `${dir}/${f}`),
      )
      .sort();
    assert.deepEqual(onDisk, Object.keys(want).sort());
    for (const [name, text] of Object.entries(want)) assert.equal(fs.readFileSync(path.join(REPO, 'grafana', name), 'utf8'), text, name);
  });

  test('every measurement, field, tag and variable a query names exists (proto/schema.ts, the dashboard)', () => {
    const ds = dashboards();
    assert.deepEqual(ds.map((d) => d.uid).sort(), [
      'redis-fleet-host',
      'redis-fleet-instance',
      'redis-fleet-overview',
      'redis-fleet-proxy',
    ]);
    let checked = 0;
    for (const d of ds) {
      const vars = new Set(queryVars(d).map((v) => v.name));
      const want =
        {
          'redis-fleet-overview': ['idc', 'cluster', 'host'],
          'redis-fleet-instance': ['idc', 'cluster', 'host', 'instance'],
          'redis-fleet-host': ['idc', 'host'],
          'redis-fleet-proxy': ['idc', 'host'],
        }[d.uid] ?? [];
      assert.deepEqual([...vars].sort(), [...want].sort(), `${d.uid}: variables`);
      assert.deepEqual(datasourceProblems(d, 'influxdb'), [], `${d.uid}: the datasource variable`);
      for (const p of d.panels) for (const t of p.targets) assert.equal(t.rawQuery, true);
      assert.deepEqual(
        d.annotations.list.filter((a) => !a.builtIn).map((a) => a.name),
        ['Failovers', 'Fences', 'Forks', 'Down / up'],
        `${d.uid}: event annotations`,
      );
      for (const q of queries(d)) {
        assert.deepEqual(schemaProblems(q.query, q.alias, vars), [], `${q.where}: ${q.query}`);
        checked++;
      }
    }
    assert.ok(checked >= 60, `${checked} queries checked`);
    // The check itself catches what it is for.
    const vars = new Set(['host']);
    assert.match(
      schemaProblems('SELECT mean("ops_per_second") FROM "redis" WHERE $timeFilter', undefined, vars).join(),
      /ops_per_second is neither/,
    );
    assert.match(schemaProblems('SELECT mean("up") FROM "redis_nope" WHERE $timeFilter', undefined, vars).join(), /redis_nope is not in/);
    assert.match(
      schemaProblems('SELECT mean("up") FROM "redis" WHERE "hostname" =~ /^$host$/', undefined, vars).join(),
      /hostname is neither/,
    );
    assert.match(
      schemaProblems('SELECT mean("up") FROM "redis" WHERE "host" =~ /^$hots$/', '$tag_pool', vars).join(),
      /\$hots is not defined.*|alias \$tag_pool/,
    );
    assert.deepEqual(
      schemaProblems(
        'SELECT count("last") FROM (SELECT last("up") FROM "redis" WHERE $timeFilter GROUP BY "instance")',
        '$tag_instance',
        vars,
      ),
      [],
    );
    const good = {
      __inputs: [{ name: 'DS_X', type: 'datasource', pluginId: 'influxdb' }],
      templating: { list: [{ name: 'DS', type: 'datasource', query: 'influxdb', current: { value: '${DS_X}' } }] },
    };
    assert.deepEqual(datasourceProblems(good, 'influxdb'), []);
    assert.match(
      datasourceProblems(
        { ...good, panels: [{ datasource: { type: 'influxdb', uid: 'redis-fleet-influxdb' } }] } as typeof good,
        'influxdb',
      ).join(),
      /panels\[0\]: datasource/,
    );
    assert.match(datasourceProblems({ ...good, __inputs: [] }, 'influxdb').join(), /no __inputs/);
  });

  test('every panel target and variable query returns series from the real stack in InfluxDB', async (t) => {
    const h = await harness(t);
    const influx = await h.influx();
    const collector = await h.collector({ influx: { url: influx.url, database: DB, flushInterval: '200ms' } });

    const { master, replica } = await feedGrafanaStack(
      t,
      h,
      collector,
      async (address) => (await influx.rows(`SELECT count(used_memory) FROM redis WHERE "instance" = '${address}'`, DB)).length > 0,
    );

    // The run's values per variable; several are one Grafana multi-value selection, formatted as Grafana does for regex: (a|b).
    const values: Record<string, Record<string, string[]>> = {
      'redis-fleet-overview': { idc: ['sz-a'], cluster: ['c1'], host: ['gf-redis', 'gf-guard'] },
      'redis-fleet-instance': { idc: ['sz-a'], cluster: ['c1'], host: ['gf-redis'], instance: [master.address] },
      'redis-fleet-host': { idc: ['sz-a'], host: ['gf-redis'] },
      'redis-fleet-proxy': { idc: ['sz-a'], host: ['gf-proxy'] },
    };
    const selected = (uid: string): Record<string, string> =>
      Object.fromEntries(
        Object.entries(values[uid]!).map(([k, vs]) => [k, vs.length === 1 ? escapeRegex(vs[0]!) : `(${vs.map(escapeRegex).join('|')})`]),
      );
    const ds = dashboards();
    // Every query twice: with the run's values selected, and with All (.*).
    const runs: { where: string; q: string }[] = [];
    for (const d of ds) {
      assert.ok(values[d.uid], `values for ${d.uid}`);
      const all = Object.fromEntries(queryVars(d).map((v) => [v.name, v.allValue ?? '.*']));
      for (const q of queries(d)) {
        // Annotations are dashboard-wide: checked with All (the events come from more hosts than one selection).
        if (!q.annotation) runs.push({ where: `${q.where} [selected]`, q: substitute(q.query, selected(d.uid)) });
        runs.push({ where: `${q.where} [All]`, q: substitute(q.query, all) });
      }
    }
    for (const r of runs) assert.doesNotMatch(r.q, /\$(?!tag_)\w/, `${r.where}: every variable substituted: ${r.q}`);

    // Until every query answers with at least one series (rates need two reads, derivatives two 10 s buckets).
    let failing: string[] = [];
    try {
      await waitFor(
        async () => {
          failing = [];
          for (const r of runs) {
            const got = await seriesOf(influx, r.q);
            if (got.error || got.n === 0) failing.push(`${r.where}: ${got.error ?? 'no series'}\n    ${r.q}`);
          }
          return failing.length === 0;
        },
        { timeoutMs: 90_000, intervalMs: 2000, what: 'every dashboard query returning series' },
      );
    } catch (err) {
      assert.fail(`${failing.length} of ${runs.length} queries return nothing:\n${failing.join('\n')}\n${(err as Error).message}`);
    }

    // The variable queries offer the run's values.
    for (const d of ds) {
      for (const v of queryVars(d)) {
        const offered = (await influx.rows(substitute(v.query, selected(d.uid)), DB)).map((r) => String(r.value));
        for (const want of values[d.uid]![v.name]!)
          assert.ok(offered.includes(want), `${d.uid} $${v.name} offers ${want} (got ${offered.join(', ')})`);
      }
    }
    // And the panels show what happened: the fenced master, the down event, the replica's lag series.
    const fenced = await influx.rows(
      substitute(
        ds.find((d) => d.uid === 'redis-fleet-overview')!.panels.find((p) => p.title === 'Fenced instances')!.targets[0]!.query,
        selected('redis-fleet-overview'),
      ),
      DB,
    );
    assert.equal(Number(fenced[0]?.sum), 1, 'one fenced instance');
    const problems = await influx.rows(
      substitute(ds.find((d) => d.uid === 'redis-fleet-overview')!.panels.find((p) => p.title === 'Problem events')!.targets[0]!.query, {
        idc: '.*',
        cluster: '.*',
        host: '.*',
      }),
      DB,
    );
    assert.ok(Number(problems[0]?.count) >= 1, 'the instance.down event counts');
    const lag = await influx.rows(
      substitute(
        ds.find((d) => d.uid === 'redis-fleet-instance')!.panels.find((p) => p.title.startsWith('Replication: replica lag'))!.targets[0]!
          .query,
        selected('redis-fleet-instance'),
      ),
      DB,
    );
    assert.ok(
      lag.some((r) => r.replica === replica.address),
      "the replica's lag series",
    );
  });
});
