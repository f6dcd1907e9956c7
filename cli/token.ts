// `redis-fleet token create|list|revoke`: the collector's API token file (http.tokenFile). A new
// token is printed once; the file keeps only `name role sha256:<hex>`. Changes are written to a
// temporary file and renamed into place, so the collector (which re-checks every second) never
// reads half a file.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../common/index.js';
import { formatTokenLine, generateApiToken, hashApiToken, isApiRole, parseApiTokens, API_ROLES, TOKEN_NAME } from '../collector/index.js';
import { table } from './table.js';

export const TOKEN_USAGE = `redis-fleet token create <name> <viewer|operator|admin> --file FILE   print a new token once, store its hash
redis-fleet token list --file FILE
redis-fleet token revoke <name> --file FILE
  FILE is the collector's http.tokenFile (or $REDIS_FLEET_TOKENS_FILE).`;

export type TokenResult = { out: string; err?: string; code: number };

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function writeAtomically(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function tokenCommand(args: string[], file: string | undefined, json: boolean): TokenResult {
  const [action, ...rest] = args;
  if (!file)
    return { out: '', err: `redis-fleet: token: --file FILE is needed (the collector's http.tokenFile)\n${TOKEN_USAGE}`, code: 64 };
  let text: string;
  let entries;
  try {
    text = readText(file);
    entries = parseApiTokens(text, file, '--file');
  } catch (err) {
    const why = err instanceof ConfigError ? err.problem : (err as Error).message;
    return { out: '', err: `redis-fleet: token: ${why}`, code: err instanceof ConfigError ? 65 : 66 };
  }
  if (action === 'list' && rest.length === 0) {
    const rows = entries.map((e) => ({ name: e.name, role: e.role }));
    return {
      out: json
        ? JSON.stringify(rows, null, 2)
        : table(
            ['NAME', 'ROLE'],
            rows.map((r) => [r.name, r.role]),
          ),
      code: 0,
    };
  }
  if (action === 'create' && rest.length === 2) {
    const [name, role] = rest as [string, string];
    if (!isApiRole(role))
      return {
        out: '',
        err: `redis-fleet: token create: role must be one of ${API_ROLES.join(', ')} (got ${JSON.stringify(role)})`,
        code: 64,
      };
    if (entries.some((e) => e.name === name))
      return { out: '', err: `redis-fleet: token create: ${name} already has a token in ${file} (revoke it first)`, code: 65 };
    if (!TOKEN_NAME.test(name))
      return { out: '', err: `redis-fleet: token create: a name is 1-64 letters, digits, . _ @ - (got ${JSON.stringify(name)})`, code: 64 };
    const token = generateApiToken();
    const line = formatTokenLine({ name, role, hash: hashApiToken(token) });
    writeAtomically(file, `${text}${text && !text.endsWith('\n') ? '\n' : ''}${line}\n`);
    return {
      out: json ? JSON.stringify({ name, role, token }) : token,
      err: `${name} (${role}) added to ${file}; the collector takes it within a second. The token is shown only now:`,
      code: 0,
    };
  }
  if (action === 'revoke' && rest.length === 1) {
    const name = rest[0]!;
    if (!entries.some((e) => e.name === name))
      return { out: '', err: `redis-fleet: token revoke: no token named ${name} in ${file}`, code: 1 };
    const kept = text.split(/\r?\n/).filter((l) => l.trim().split(/\s+/)[0] !== name || l.trim().startsWith('#'));
    writeAtomically(file, kept.join('\n'));
    return { out: `revoked ${name}; the collector refuses its token within a second`, code: 0 };
  }
  return { out: '', err: `redis-fleet: token: unknown command ${JSON.stringify(args.join(' '))}\n${TOKEN_USAGE}`, code: 64 };
}
