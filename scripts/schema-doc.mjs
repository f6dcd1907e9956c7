// Writes docs/schema.md from the built proto/schema.ts.
import fs from 'node:fs';
import { renderSchemaMarkdown } from '../dist/proto/schema-doc.js';
fs.writeFileSync(new URL('../docs/schema.md', import.meta.url), renderSchemaMarkdown());
console.log('docs/schema.md written');
