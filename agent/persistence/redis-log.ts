// Redis's own words for a failed save or rewrite: INFO only says "err", the reason is in its log.
import fs from 'node:fs';
import path from 'node:path';

/** The log file of an instance from CONFIG GET logfile / dir ('' when it logs to stdout). */
export function logPath(logfile: string, dir: string): string {
  if (!logfile) return '';
  return path.isAbsolute(logfile) ? logfile : path.join(dir, logfile);
}

export function logSize(file: string): number | undefined {
  if (!file) return undefined;
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

const MAX_READ = 256 * 1024;

/**
 * Warning lines Redis wrote since `fromOffset` that explain a failed child: the child's own
 * lines (role C) first, else the parent's warnings. Log lines look like
 * `1234:C 22 Nov 2026 18:44:00.123 # Failed opening the temp RDB file ...`.
 */
export function failureFromLog(file: string, fromOffset: number | undefined): string | undefined {
  if (!file) return undefined;
  let text: string;
  try {
    const size = fs.statSync(file).size;
    let start = fromOffset ?? Math.max(0, size - MAX_READ);
    if (start > size) start = 0; // rotated or truncated
    start = Math.max(start, size - MAX_READ);
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const child: string[] = [];
  const parent: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:([CMSX]) .*? # (.*)$/.exec(line.trimEnd());
    if (!m) continue;
    (m[1] === 'C' ? child : parent).push(m[2]!);
  }
  const picked = child.length ? child : parent;
  return picked.length ? picked.slice(-3).join('; ') : undefined;
}
