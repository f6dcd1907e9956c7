// What every server in the harness shares: the current process (a restart replaces it),
// signals to it, and launching the same command again on the same ports and data.
import { launch, type Owner } from './launch.js';
import type { ManagedProcess, SpawnOptions } from './process.js';

export interface Relaunch {
  name: string;
  timeoutMs: number;
  spawn: () => Omit<SpawnOptions, 'name'> | Promise<Omit<SpawnOptions, 'name'>>;
  ready: () => Promise<boolean> | boolean;
}

export abstract class HarnessServer {
  protected proc: ManagedProcess;
  protected readonly owner: Owner;

  protected constructor(owner: Owner, proc: ManagedProcess) {
    this.owner = owner;
    this.proc = proc;
  }

  get pid(): number {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** The current process (replaced by restart()). */
  get process(): ManagedProcess {
    return this.proc;
  }

  /** SIGSTOP: the server stays bound but answers nothing (a silent partition). */
  pause(): void {
    this.proc.pause();
  }

  /** SIGCONT. */
  resume(): void {
    this.proc.resume();
  }

  /** Sends `signal` to the process group and waits for the exit (SIGKILL after 10 s). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.proc.kill(signal);
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }

  tail(lines = 40): string {
    return this.proc.tail(lines);
  }

  /** Starts the server again after a stop: one attempt, since the ports must stay the same. */
  protected async relaunch(r: Relaunch): Promise<void> {
    this.proc = await launch(this.owner, {
      name: r.name,
      attempts: 1,
      timeoutMs: r.timeoutMs,
      prepare: async () => r.spawn(),
      ready: r.ready,
    });
  }
}
