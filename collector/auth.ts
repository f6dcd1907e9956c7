// Bearer-token check for agent streams. Every accepted token is compared in
// constant time (hashes of equal length, no early exit), and the token file is
// re-read when it changes so tokens can be rotated without a restart.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Logger } from '../common/index.js';
import { readTokenFile } from './config.js';

export type AuthResult = { ok: true } | { ok: false; reason: string };

const digest = (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest();

export class TokenChecker {
  private digests: Buffer[];
  private mtimeMs = 0;
  private lastStatAt = 0;

  constructor(
    private readonly file: string,
    tokens: string[],
    private readonly logger: Logger,
    private readonly recheckMs = 5000,
  ) {
    this.digests = tokens.map(digest);
    try {
      this.mtimeMs = fs.statSync(file).mtimeMs;
    } catch {
      /* checked at load */
    }
  }

  /** `header` is the raw `authorization` metadata value (or undefined). */
  check(header: string | undefined): AuthResult {
    if (header === undefined || header === '') {
      return { ok: false, reason: 'missing authorization metadata (expected "Bearer <token>")' };
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return { ok: false, reason: 'malformed authorization metadata (expected "Bearer <token>")' };
    this.maybeReload();
    const given = digest(m[1]!);
    let match = false;
    for (const d of this.digests) match = crypto.timingSafeEqual(given, d) || match;
    return match ? { ok: true } : { ok: false, reason: 'invalid token' };
  }

  private maybeReload(): void {
    const now = Date.now();
    if (now - this.lastStatAt < this.recheckMs) return;
    this.lastStatAt = now;
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(this.file).mtimeMs;
    } catch (err) {
      this.logger.warn(
        { file: this.file, code: (err as NodeJS.ErrnoException).code },
        'token file unreadable; keeping the tokens loaded before',
      );
      return;
    }
    if (mtimeMs === this.mtimeMs) return;
    try {
      const tokens = readTokenFile(this.file);
      this.digests = tokens.map(digest);
      this.mtimeMs = mtimeMs;
      this.logger.info({ file: this.file, tokens: tokens.length }, 'token file reloaded');
    } catch (err) {
      this.logger.warn({ file: this.file, problem: (err as Error).message }, 'token file invalid; keeping the tokens loaded before');
    }
  }
}
