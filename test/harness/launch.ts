// Starting a server: spawn, wait for readiness, retry on a port race, and fail with the log tail.
import { ManagedProcess, spawnManaged, type SpawnOptions } from './process.js';
import { waitFor, WaitAbort } from './wait.js';

/** What a component needs from the harness that owns it. */
export interface Owner {
  /** A fresh temp dir (rf-<kind>-XXXXXX) removed when the owner closes. */
  tempDir(kind: string): Promise<string>;
  /** Registers a process to be killed when the owner closes. */
  adopt(proc: ManagedProcess): void;
  /** Registers a client to be disconnected when the owner closes. */
  trackClient<T extends { disconnect(): void }>(client: T): T;
}

export interface LaunchOptions {
  /** Builds the command for one attempt; called again (with fresh ports) after a port race. */
  prepare(attempt: number): Promise<Omit<SpawnOptions, 'name'>>;
  /** True once the server answers. Errors count as "not yet". */
  ready(proc: ManagedProcess): Promise<boolean> | boolean;
  name: string;
  timeoutMs: number;
  /** Attempts when the server exits complaining about a port in use (default 3). */
  attempts?: number;
  /** Log file to quote in errors, when the server logs somewhere else than its stdout. */
  extraLog?: () => string;
}

const PORT_IN_USE = /address already in use|EADDRINUSE|bind: |could not bind|Failed listening|failed to listen/i;

export async function launch(owner: Owner, opts: LaunchOptions): Promise<ManagedProcess> {
  const attempts = opts.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const proc = spawnManaged({ name: opts.name, ...(await opts.prepare(attempt)) });
    owner.adopt(proc);
    const describe = () => {
      const extra = opts.extraLog?.() ?? '';
      return `--- ${proc.logFile} (last lines) ---\n${proc.tail(30)}${extra ? `\n--- log ---\n${extra}` : ''}`;
    };
    try {
      await waitFor(
        async () => {
          if (proc.exit) {
            const how = proc.exit.error ? proc.exit.error.message : `code ${proc.exit.code}, signal ${proc.exit.signal}`;
            throw new WaitAbort(`${opts.name} exited during startup (${how})`);
          }
          return opts.ready(proc);
        },
        { timeoutMs: opts.timeoutMs, intervalMs: 100, what: `${opts.name} (pid ${proc.pid}) to become ready` },
      );
      return proc;
    } catch (err) {
      await proc.kill('SIGKILL');
      const message = err instanceof Error ? err.message : String(err);
      const tail = describe();
      if (err instanceof WaitAbort && attempt < attempts && PORT_IN_USE.test(tail)) continue;
      throw new Error(`${message}\n${tail}`);
    }
  }
}
