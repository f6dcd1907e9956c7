// Child process management. Every server and program a test starts goes through spawnManaged(), which puts
// the child in its own process group and records it in a process-wide registry. The registry SIGKILLs
// every live group when this process exits (normally, by an uncaught error, or on SIGINT/SIGTERM/SIGHUP),
// and a tiny detached watchdog does the same if this process is SIGKILLed, so no server outlives a test file.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  error?: Error;
}

export interface SpawnOptions {
  /** Short label used in errors ("redis", "zookeeper"...). */
  name: string;
  command: string;
  args: string[];
  /** Working directory (normally the server's temp dir). */
  cwd: string;
  /** stdout (and stderr, unless stderrFile is given) are appended to this file. */
  logFile: string;
  /** stderr goes here instead of logFile. */
  stderrFile?: string;
  /** Extra environment on top of this process's (NODE_TEST_CONTEXT is always removed). */
  env?: NodeJS.ProcessEnv;
  /** Called with every stdout chunk; stdout is then piped through this process (still written to logFile). */
  onStdout?: (chunk: Buffer) => void;
}

const live = new Set<ManagedProcess>();
const tempDirs = new Set<string>();
const keepTemp = process.env.RF_KEEP_TMP === '1';

/** Creates `os.tmpdir()/rf-<kind>-XXXXXX`; it is removed by removeTempDir() or when this process exits. */
export async function makeTempDir(kind: string): Promise<string> {
  installExitHooks();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `rf-${kind}-`));
  tempDirs.add(dir);
  syncWatchdog();
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  tempDirs.delete(dir);
  syncWatchdog();
  if (!keepTemp) await fsp.rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}

/** Last `lines` lines of a text file ('' when it does not exist). */
export function tailFile(file: string, lines = 40): string {
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, size - length);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  return all.slice(-lines).join('\n');
}

export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly stderrFile: string;
  readonly child: ChildProcess;
  /** Resolves once the process has exited (and its piped stdout is drained). Never rejects. */
  readonly exited: Promise<ExitInfo>;
  /** Set once exited. */
  exit: ExitInfo | undefined;

  constructor(opts: SpawnOptions) {
    installExitHooks();
    this.name = opts.name;
    this.logFile = opts.logFile;
    this.stderrFile = opts.stderrFile ?? opts.logFile;
    const outFd = fs.openSync(opts.logFile, 'a');
    const errFd = opts.stderrFile ? fs.openSync(opts.stderrFile, 'a') : outFd;
    const env = { ...process.env, ...opts.env };
    delete env.NODE_TEST_CONTEXT;
    try {
      this.child = spawn(opts.command, opts.args, {
        cwd: opts.cwd,
        env,
        detached: true, // own process group: signals reach forks (redis BGSAVE) and nothing reaches us
        stdio: ['ignore', opts.onStdout ? 'pipe' : outFd, errFd],
      });
    } finally {
      if (!opts.onStdout) fs.closeSync(outFd);
      if (errFd !== outFd) fs.closeSync(errFd);
    }
    let startError: Error | undefined;
    let drained: Promise<void> = Promise.resolve();
    if (opts.onStdout && this.child.stdout) {
      const onStdout = opts.onStdout;
      const stdout = this.child.stdout;
      drained = new Promise((resolve) => {
        stdout.on('data', (chunk: Buffer) => {
          try {
            fs.writeSync(outFd, chunk);
          } catch {
            /* log file gone: keep the parsed copy */
          }
          onStdout(chunk);
        });
        stdout.once('close', () => {
          try {
            fs.closeSync(outFd);
          } catch {
            /* already closed */
          }
          resolve();
        });
      });
    }
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('error', (err) => {
        startError = err;
        if (this.child.pid === undefined) resolve({ code: null, signal: null, error: err });
      });
      this.child.once('exit', (code, signal) => {
        void drained.then(() => resolve({ code, signal, error: startError }));
      });
    }).then((info) => {
      this.exit = info;
      live.delete(this);
      syncWatchdog();
      return info;
    });
    this.pid = this.child.pid ?? -1;
    if (this.pid > 0) {
      live.add(this);
      syncWatchdog();
    }
  }

  get running(): boolean {
    return this.exit === undefined && this.pid > 0;
  }

  /** Sends `sig` to the whole process group. False when it is already gone. */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      process.kill(-this.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGSTOP: the process freezes (sockets stay open, nothing answers). */
  pause(): void {
    if (!this.signal('SIGSTOP')) throw new Error(`${this.name} (pid ${this.pid}) is not running`);
  }

  resume(): void {
    if (!this.signal('SIGCONT')) throw new Error(`${this.name} (pid ${this.pid}) is not running`);
  }

  /** Resolves with the exit info, or undefined if still running after timeoutMs. */
  async waitExit(timeoutMs: number): Promise<ExitInfo | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, undefined);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends `sig` (default SIGKILL) to the group, plus SIGCONT so a paused process can act on it, and waits
   * for the exit. If it is still alive after graceMs, SIGKILL follows.
   */
  async kill(sig: NodeJS.Signals = 'SIGKILL', graceMs = 10_000): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    this.signal(sig);
    if (sig !== 'SIGKILL') this.signal('SIGCONT');
    const info = await this.waitExit(graceMs);
    if (info) return info;
    this.signal('SIGKILL');
    return this.exited;
  }

  /** SIGTERM and wait (SIGKILL after graceMs). */
  stop(graceMs = 10_000): Promise<ExitInfo> {
    return this.kill('SIGTERM', graceMs);
  }

  /** Last lines of the captured output (stdout, and stderr when it has its own file). */
  tail(lines = 40): string {
    const out = tailFile(this.logFile, lines);
    if (this.stderrFile === this.logFile) return out;
    const err = tailFile(this.stderrFile, lines);
    return err ? `${out}\n--- stderr ---\n${err}` : out;
  }
}

export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  return new ManagedProcess(opts);
}

/** Pids of every child still registered (for tests of the harness itself). */
export function livePids(): number[] {
  return [...live].map((p) => p.pid);
}

function killEverythingSync(): void {
  for (const proc of live) {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
  if (!keepTemp) {
    for (const dir of tempDirs) {
      try {
        fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        /* best effort */
      }
    }
  }
  tempDirs.clear();
  stopWatchdog();
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killEverythingSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      killEverythingSync();
      // Someone else (e.g. the node:test runner) may also handle the signal and exit in its own way.
      if (process.listenerCount(sig) === 1) process.exit(128 + (os.constants.signals[sig] ?? 0));
    });
  }
}

// --- watchdog: cleans up if this process dies without running its exit hooks (SIGKILL, OOM) ---
let watchdog: ChildProcess | undefined;
let watchDir: string | undefined;

const WATCHDOG_SCRIPT = `
parent=$1; dir=$2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
if [ -f "$dir/groups" ]; then for g in $(cat "$dir/groups"); do /bin/kill -s KILL -- "-$g" 2>/dev/null || kill -s KILL "-$g" 2>/dev/null; done; fi
if [ -f "$dir/dirs" ]; then while IFS= read -r d; do case "$d" in */rf-*) rm -rf -- "$d";; esac; done < "$dir/dirs"; fi
rm -rf -- "$dir"
`;

function syncWatchdog(): void {
  if (live.size === 0 && tempDirs.size === 0 && !watchdog) return;
  try {
    if (!watchdog) {
      watchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-watch-'));
      watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'rf-watchdog', String(process.pid), watchDir], { detached: true, stdio: 'ignore' });
      watchdog.on('error', () => {
        /* no sh: the exit hooks still work */
      });
      watchdog.unref();
    }
    fs.writeFileSync(path.join(watchDir!, 'groups'), [...live].map((p) => p.pid).join('\n') + '\n');
    fs.writeFileSync(path.join(watchDir!, 'dirs'), keepTemp ? '' : [...tempDirs].join('\n') + '\n');
  } catch {
    /* the watchdog is a second line of defence only */
  }
}

function stopWatchdog(): void {
  if (watchdog?.pid) {
    try {
      process.kill(watchdog.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  watchdog = undefined;
  if (watchDir) {
    try {
      fs.rmSync(watchDir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
    watchDir = undefined;
  }
}
