// Writes deploy/schema/*.schema.json (JSON Schema of each config file, for editors) from the
// schemas the daemons validate with. Run after a build: npm run config-schema.
import fs from 'node:fs';
import { renderConfigSchemas } from '../dist/cli/config-schemas.js';
const dir = new URL('../deploy/schema/', import.meta.url);
fs.mkdirSync(dir, { recursive: true });
for (const [file, text] of Object.entries(renderConfigSchemas())) {
  fs.writeFileSync(new URL(file, dir), text);
  console.log(`deploy/schema/${file} written`);
}
