#!/usr/bin/env node
// Lists the waits a test run recorded with RF_SLOW_WAITS=FILE (test/harness/README.md),
// closest to their timeout first.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/slow-waits.mjs FILE   (a file written by a test run with RF_SLOW_WAITS=FILE)');
  process.exit(64);
}
if (!existsSync(file)) {
  console.log('no wait took over 40 % of its timeout (the run writes the file only when one does)');
  process.exit(0);
}
const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l))
  .sort((a, b) => b.tookMs / b.timeoutMs - a.tookMs / a.timeoutMs);
for (const r of rows) {
  const share = Math.round((100 * r.tookMs) / r.timeoutMs);
  console.log(
    `${String(share).padStart(4)} %  ${r.ok ? 'ok     ' : 'TIMEOUT'}  ${String(r.tookMs).padStart(6)} / ${String(r.timeoutMs).padStart(6)} ms  ${r.test}  ${r.what}`,
  );
}
