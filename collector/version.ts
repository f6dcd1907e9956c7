import fs from 'node:fs';

/** The package version (dist/collector/version.js -> <root>/package.json). */
export const COLLECTOR_VERSION: string = (() => {
  try {
    return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
