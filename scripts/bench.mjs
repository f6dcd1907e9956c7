#!/usr/bin/env node
// npm run bench -- [name ...]   runs test/bench/<name>.bench.ts (all when none given), after building.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = spawnSync('bash', [path.join(root, 'scripts/ensure-deps.sh'), 'servers'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const dir = path.join(root, 'dist/test/bench');
const all = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.replace(/\.bench\.js$/, ''));
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : all;
for (const name of wanted) {
  if (!all.includes(name)) {
    console.error(`no benchmark ${name}; have: ${all.join(', ')}`);
    process.exit(64);
  }
  console.log(`\n=== ${name}`);
  const r = spawnSync(process.execPath, [path.join(dir, `${name}.bench.js`)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
