// The local fence intent file: written (atomically, fsynced, mode 0600 — it holds ACL password
// hashes) BEFORE a fence is applied and removed only after a verified restore, so a guard that
// dies mid-fence comes back knowing what it fenced and what to restore (fail closed).
import fs from 'node:fs';
import path from 'node:path';
import type { FenceMode } from './config.js';

export interface FenceIntent {
  address: string;
  mode: FenceMode;
  fencedAtMs: number;
  reason: string;
  sentinelName?: string;
  /** acl mode: user → its rules before the fence, as ACL LIST prints them (without `user <name>`). */
  users?: Record<string, string>;
  /** replicaof mode: replica-serve-stale-data before the fence. */
  staleData?: string;
}

interface IntentFile {
  version: 1;
  instances: Record<string, FenceIntent>;
}

export class IntentStore {
  readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, 'fence-intent.json');
  }

  /** The intents on disk; a missing file is no intent. A corrupt one throws (never guess what was fenced). */
  load(): Map<string, FenceIntent> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw err;
    }
    const data = JSON.parse(text) as IntentFile;
    if (data?.version !== 1 || typeof data.instances !== 'object')
      throw new Error(`${this.file}: not a fence intent file (version ${String(data?.version)})`);
    return new Map(Object.entries(data.instances));
  }

  save(intents: Map<string, FenceIntent>): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const body: IntentFile = { version: 1, instances: Object.fromEntries(intents) };
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(body, null, 1));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    const dirFd = fs.openSync(path.dirname(this.file), 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  }
}
