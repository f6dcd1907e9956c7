// API tokens (http.tokenFile): one `name role sha256:<hex>` line per token; the token itself is
// never stored, only its SHA-256. The file is re-checked every second and re-read when it changed,
// so a token can be added or revoked without a restart. A bad new file is refused, the old set kept.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { ConfigError, type Logger } from '../../common/index.js';
import { isApiRole, type ApiRole } from './roles.js';

export interface ApiTokenEntry {
  name: string;
  role: ApiRole;
  hash: string;
}
export interface ApiIdentity {
  name: string;
  role: ApiRole;
}

export const TOKEN_PREFIX = 'rfapi_';
/** A token's name: who holds it (shown in the audit log). */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const HASH = /^sha256:[0-9a-f]{64}$/;

/** A new random token (shown once, then only its hash is kept). */
export const generateApiToken = (): string => TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');

export const hashApiToken = (token: string): string => `sha256:${crypto.createHash('sha256').update(token, 'utf8').digest('hex')}`;

export const formatTokenLine = (e: ApiTokenEntry): string => `${e.name} ${e.role} ${e.hash}`;

/** Parses the file's text; throws ConfigError(key) naming the line. Blank lines and # comments ignored. */
export function parseApiTokens(text: string, file: string, key = 'http.tokenFile'): ApiTokenEntry[] {
  const out: ApiTokenEntry[] = [];
  const names = new Set<string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    const [name = '', role = '', hash = '', ...extra] = t.split(/\s+/);
    const where = `${file} line ${i + 1}`;
    if (extra.length || !hash) throw new ConfigError(key, `${where}: expected "name role sha256:<hex>"`);
    if (!TOKEN_NAME.test(name)) throw new ConfigError(key, `${where}: name must be letters, digits, . _ @ - (got ${JSON.stringify(name)})`);
    if (!isApiRole(role)) throw new ConfigError(key, `${where}: role must be viewer, operator or admin (got ${JSON.stringify(role)})`);
    if (!HASH.test(hash))
      throw new ConfigError(key, `${where}: the token must be stored as sha256:<64 hex digits> (see redis-fleet token create)`);
    if (names.has(name)) throw new ConfigError(key, `${where}: name ${name} is used twice`);
    names.add(name);
    out.push({ name, role, hash });
  });
  return out;
}

export function readApiTokenFile(file: string, key = 'http.tokenFile'): ApiTokenEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(key, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseApiTokens(text, file, key);
}

const fileStamp = (file: string): string => {
  const s = fs.statSync(file);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
};

/** The loaded token set, answering "whose token is this?" in constant time over all entries. */
export class ApiTokens {
  private entries: { identity: ApiIdentity; digest: Buffer }[] = [];
  private stamp = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly file: string | undefined,
    entries: ApiTokenEntry[],
    private readonly logger: Logger,
    recheckMs = 1000,
  ) {
    this.set(entries);
    if (!file) return;
    try {
      this.stamp = fileStamp(file);
    } catch {
      /* reported at the next check */
    }
    this.timer = setInterval(() => this.recheck(), recheckMs);
    this.timer.unref();
  }

  get count(): number {
    return this.entries.length;
  }

  /** The identity holding `token`, or undefined. Every entry is compared (no early exit). */
  lookup(token: string): ApiIdentity | undefined {
    const given = Buffer.from(hashApiToken(token).slice('sha256:'.length), 'hex');
    let found: ApiIdentity | undefined;
    for (const e of this.entries) if (crypto.timingSafeEqual(given, e.digest) && !found) found = e.identity;
    return found;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private set(entries: ApiTokenEntry[]): void {
    this.entries = entries.map((e) => ({
      identity: { name: e.name, role: e.role },
      digest: Buffer.from(e.hash.slice('sha256:'.length), 'hex'),
    }));
  }

  private recheck(): void {
    const file = this.file!;
    let stamp: string;
    try {
      stamp = fileStamp(file);
    } catch (err) {
      if (this.stamp !== 'unreadable')
        this.logger.warn(
          { file, code: (err as NodeJS.ErrnoException).code },
          'API token file unreadable; keeping the tokens loaded before',
        );
      this.stamp = 'unreadable';
      return;
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    try {
      const entries = readApiTokenFile(file);
      this.set(entries);
      this.logger.info({ file, tokens: entries.length }, 'API token file reloaded');
    } catch (err) {
      this.logger.warn({ file, problem: (err as Error).message }, 'API token file invalid; keeping the tokens loaded before');
    }
  }
}
