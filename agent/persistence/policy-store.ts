// Keeps each instance's original triggers on disk: after the scheduler switched them off (and
// CONFIG REWRITE persisted that), an agent restart would otherwise read `save ""` and forget
// the operator's policy.
import fs from 'node:fs';
import path from 'node:path';
import type { KnownTriggers } from './policy.js';

interface StoreFile {
  version: 1;
  instances: Record<string, { save: string; aofRewritePercentage: number; recordedAt: string }>;
}

export class PolicyStore {
  private data: StoreFile = { version: 1, instances: {} };

  /** `file` undefined = keep nothing on disk. Throws with a clear message on an unreadable file. */
  constructor(private readonly file: string | undefined) {
    if (!file) return;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new Error(`persistence state file ${file}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`persistence state file ${file} is not valid JSON (${(err as Error).message}); fix or remove it`);
    }
    const p = parsed as Partial<StoreFile>;
    if (p?.version !== 1 || typeof p.instances !== 'object' || p.instances === null) {
      throw new Error(`persistence state file ${file} has an unknown format (expected version 1)`);
    }
    this.data = p as StoreFile;
  }

  get(address: string): KnownTriggers | undefined {
    const r = this.data.instances[address];
    if (!r || typeof r.save !== 'string' || typeof r.aofRewritePercentage !== 'number') return undefined;
    return { save: r.save, aofRewritePercentage: r.aofRewritePercentage, source: 'recorded' };
  }

  /**
   * Records the operator's triggers. The in-memory copy changes only once the file is written, so a
   * failed write is retried by the next call with the same values.
   */
  put(address: string, t: KnownTriggers): { written: boolean; error?: string } {
    const cur = this.data.instances[address];
    if (cur && cur.save === t.save && cur.aofRewritePercentage === t.aofRewritePercentage) return { written: false };
    const next: StoreFile = {
      ...this.data,
      instances: {
        ...this.data.instances,
        [address]: { save: t.save, aofRewritePercentage: t.aofRewritePercentage, recordedAt: new Date().toISOString() },
      },
    };
    if (this.file) {
      const tmp = `${this.file}.${process.pid}.tmp`;
      try {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        fs.writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`);
        fs.renameSync(tmp, this.file);
      } catch (err) {
        try {
          fs.rmSync(tmp, { force: true });
        } catch {
          // the directory itself is unusable: there is no temporary file to remove
        }
        return { written: false, error: `cannot write ${this.file}: ${(err as Error).message}` };
      }
    }
    this.data = next;
    return { written: this.file !== undefined };
  }
}
