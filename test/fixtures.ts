// Real captures (Redis INFO, codis-proxy / codis-dashboard JSON, twemproxy stats, redis_exporter
// output) kept in the repo under test/fixtures/; each folder's README says where they came from.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** test/fixtures/ in the checkout (the compiled tests run from dist/test/). */
export const FIXTURES_DIR = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

/** Absolute path of one capture, e.g. fixturePath('codis', 'proxy-stats.json'). */
export function fixturePath(...parts: string[]): string {
  return [FIXTURES_DIR.replace(/\/$/, ''), ...parts].join('/');
}

export function readFixture(...parts: string[]): string {
  return fs.readFileSync(fixturePath(...parts), 'utf8');
}
