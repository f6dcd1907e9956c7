// deploy/schema/*.schema.json: generated from the schemas the daemons validate with; a standalone
// JSON Schema validator (as an editor would use) accepts every shipped example and flags a typo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import YAML from 'yaml';
import { renderConfigSchemas } from '../cli/config-schemas.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const schemaDir = path.join(root, 'deploy', 'schema');
const examplesDir = path.join(root, 'deploy', 'examples');

test('deploy/schema/ is generated from the config schemas (run npm run config-schema)', () => {
  for (const [file, text] of Object.entries(renderConfigSchemas())) {
    assert.equal(fs.readFileSync(path.join(schemaDir, file), 'utf8'), text, `${file} is stale: run npm run config-schema`);
  }
});

test('every example config validates against its editor schema; an unknown key does not', () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const check = {
    agent: ajv.compile(JSON.parse(fs.readFileSync(path.join(schemaDir, 'agent.schema.json'), 'utf8'))),
    collector: ajv.compile(JSON.parse(fs.readFileSync(path.join(schemaDir, 'collector.schema.json'), 'utf8'))),
  };
  const examples = fs.readdirSync(examplesDir).filter((f) => /^(agent|collector)-.*\.yaml$/.test(f));
  assert.ok(examples.some((f) => f.startsWith('agent-')) && examples.some((f) => f.startsWith('collector-')), examples.join(', '));
  for (const f of examples) {
    const kind = f.startsWith('agent-') ? 'agent' : 'collector';
    const doc = YAML.parse(fs.readFileSync(path.join(examplesDir, f), 'utf8')) as Record<string, unknown>;
    assert.ok(check[kind](doc), `${f}: ${JSON.stringify(check[kind].errors)}`);
    assert.equal(check[kind]({ ...doc, intervall: '10s' }), false, `${f}: a misspelt key must be flagged`);
    assert.ok(
      check[kind].errors!.some((e) => e.keyword === 'additionalProperties'),
      f,
    );
  }
});
