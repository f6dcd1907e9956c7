// Writes grafana/dashboards/*.json and grafana/dashboards-prometheus/*.json from grafana/dashboards.ts:
// node dist/grafana/generate.js
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderAll } from './dashboards.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../grafana');
for (const [name, text] of Object.entries(renderAll())) {
  fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
  fs.writeFileSync(path.join(root, name), text);
  process.stdout.write(`wrote grafana/${name}\n`);
}
