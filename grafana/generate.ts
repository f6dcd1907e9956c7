// Writes grafana/dashboards/*.json from grafana/dashboards.ts: node dist/grafana/generate.js
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderAll } from './dashboards.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../grafana/dashboards');
fs.mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(renderAll())) {
  fs.writeFileSync(path.join(dir, name), text);
  process.stdout.write(`wrote grafana/dashboards/${name}\n`);
}
