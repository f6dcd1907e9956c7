// Host-side facts the scheduler needs: MemAvailable, a Redis process's fork children.
import fs from 'node:fs';

/** MemAvailable from /proc/meminfo, in bytes. */
export function readMemAvailableBytes(file = '/proc/meminfo'): number {
  const text = fs.readFileSync(file, 'utf8');
  const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(text);
  if (!m) throw new Error(`no MemAvailable line in ${file}`);
  return Number(m[1]) * 1024;
}

/**
 * Child processes of `pid` (a Redis server: its only children are fork children). Uses the
 * kernel's children list of the main thread, or scans /proc when that file is absent.
 */
export function childPids(pid: number): number[] {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!fs.existsSync(`/proc/${pid}`)) return []; // the process itself is gone
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ... — comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // the process went away while scanning
    }
  }
  return out;
}

/**
 * Stops a Redis fork child. SIGUSR1 is the signal Redis treats as a deliberate abort: the save is
 * not marked failed, so `stop-writes-on-bgsave-error` does not make a master refuse writes.
 */
export function killForkChild(parentPid: number): { pids: number[]; error?: string } {
  let pids: number[];
  try {
    pids = childPids(parentPid);
  } catch (err) {
    return { pids: [], error: `cannot list children of pid ${parentPid}: ${(err as Error).message}` };
  }
  if (pids.length === 0) return { pids, error: `no child process of pid ${parentPid} found` };
  const errors: string[] = [];
  for (const p of pids) {
    try {
      process.kill(p, 'SIGUSR1');
    } catch (err) {
      errors.push(`kill ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return errors.length ? { pids, error: errors.join('; ') } : { pids };
}
