import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSchemaMarkdown } from '../proto/schema-doc.js';
import { MEASUREMENTS, INFO_INT_FIELDS, INFO_STRING_FIELDS } from '../proto/index.js';
import { fixturePath, readFixture } from './fixtures.js';
import { NAME_MAPPINGS, EXPORTER_NAMES_NOT_IN_CAPTURE } from '../proto/schema-mapping.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('docs/schema.md is generated from proto/schema.ts (run npm run schema-doc)', () => {
  const onDisk = fs.readFileSync(path.join(root, 'docs', 'schema.md'), 'utf8');
  assert.equal(onDisk, renderSchemaMarkdown());
});

test('every field has exactly one type and no INFO field is both int and string', () => {
  const ints = new Set<string>(INFO_INT_FIELDS);
  for (const n of INFO_STRING_FIELDS) assert.ok(!ints.has(n), `${n} is both int and string`);
  for (const m of Object.values(MEASUREMENTS)) {
    for (const [name, def] of Object.entries(m.fields)) {
      assert.match(def.type, /^(int|float|string)$/, `${m.name}.${name}`);
      assert.ok(!m.tags.includes(name), `${m.name}: ${name} is both a tag and a field`);
    }
  }
});

test('the INFO fixtures only hold fields whose type matches the pinned one', () => {
  const fixtures = fixturePath('redis');
  const ints = new Set<string>(INFO_INT_FIELDS);
  let checked = 0;
  for (const f of fs.readdirSync(fixtures).filter((n) => n.endsWith('.txt'))) {
    for (const line of fs.readFileSync(path.join(fixtures, f), 'utf8').split(/\r?\n/)) {
      const m = /^([a-z_0-9]+):(.*)$/.exec(line);
      if (!m || !ints.has(m[1]!)) continue;
      assert.match(m[2]!, /^-?\d+$/, `${f}: ${m[1]} is pinned int but reads ${m[2]}`);
      checked++;
    }
  }
  assert.ok(checked > 100, `only ${checked} pinned int fields seen in the fixtures`);
});

test('the redis_exporter / Telegraf name table: every name of ours exists, every exporter name is in a real capture', () => {
  const exporterNames = new Set<string>();
  for (const f of ['metrics-master-with-replica-1.45.0.txt', 'metrics-standalone-1.45.0.txt']) {
    for (const line of readFixture('redis_exporter', f).split('\n')) {
      const m = /^(redis_[a-z_]+)[{ ]/.exec(line);
      if (m) exporterNames.add(m[1]!);
    }
  }
  assert.ok(NAME_MAPPINGS.length >= 30, `${NAME_MAPPINGS.length} rows`);
  for (const row of NAME_MAPPINGS) {
    const [measurement, field] = row.ours.split('.') as [string, string];
    assert.ok(MEASUREMENTS[measurement]?.fields[field], `${row.ours} is not in proto/schema.ts`);
    if (!row.exporter) continue;
    const name = row.exporter.replace(/\{.*$/, '');
    if (EXPORTER_NAMES_NOT_IN_CAPTURE.has(name)) continue;
    assert.ok(exporterNames.has(name), `${row.exporter} is not in the redis_exporter capture`);
  }
});
