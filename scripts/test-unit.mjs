#!/usr/bin/env node
// npm run test:unit: the pure tests — no root, no Debian servers, no network beyond loopback.
// A test file is a unit test when nothing it imports (transitively) reaches test/harness/,
// the module that starts real servers; so a new test is classified by what it uses, not by a list.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
execFileSync('bash', ['scripts/ensure-deps.sh', 'build'], { stdio: 'inherit' });

const harnessDir = join(root, 'dist/test/harness') + '/';
const reachesHarness = new Map();
function usesHarness(file, seen = new Set()) {
  if (file.startsWith(harnessDir)) return true;
  if (reachesHarness.has(file)) return reachesHarness.get(file);
  if (seen.has(file) || !existsSync(file)) return false;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  const imports = [...source.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => resolve(dirname(file), m[1]));
  const result = imports.some((f) => usesHarness(f, seen));
  reachesHarness.set(file, result);
  return result;
}

const testDir = join(root, 'dist/test');
const all = readdirSync(testDir)
  .filter((f) => f.endsWith('.test.js'))
  .sort();
const unit = all.filter((f) => !usesHarness(join(testDir, f)));
console.error(`redis-fleet: ${unit.length} of ${all.length} test files are unit tests (they start no server)`);
const run = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...unit.map((f) => join(testDir, f))], { stdio: 'inherit' });
process.exit(run.status ?? 1);
