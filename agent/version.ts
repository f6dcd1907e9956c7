import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  // dist/agent/version.js (or agent/version.ts) → <root>/package.json
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const p of [path.join(here, '..', '..', 'package.json'), path.join(here, '..', 'package.json')]) {
    try {
      const v = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (v.name === 'redis-fleet' && v.version) return v.version;
    } catch {
      /* try the next */
    }
  }
  return '0.0.0';
}

export const AGENT_VERSION = readVersion();
