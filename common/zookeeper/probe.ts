// ZooKeeper reachability by our own active probe: one `exists(probePath)` with a hard deadline per
// guard loop, run in a worker thread (worker.ts) so that the ZooKeeper client library can never
// take the agent down. A worker that dies or stops answering is replaced; that probe fails.
import { Worker } from 'node:worker_threads';
import type { ZkReply, ZkRequest } from './worker.js';

export interface ZkProbeResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export class ZooKeeperProbe {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (r: ZkReply) => void>();
  private workerClients = 0;
  private clientsBefore = 0;
  /** Probes failed in a row (0 after a success). */
  consecutiveFailures = 0;
  lastOkMs = 0;
  lastError = '';
  /** Worker threads started (1 + replacements after a library crash or a hang). */
  workersStarted = 0;
  /** Last worker error (a crash inside the ZooKeeper client library). */
  lastWorkerError = '';

  constructor(private readonly opts: { servers: string; probePath: string; sessionTimeoutMs: number }) {}

  /** ZooKeeper client sessions created so far, across workers. */
  get clientsCreated(): number {
    return this.clientsBefore + this.workerClients;
  }

  private current(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { servers: this.opts.servers, sessionTimeoutMs: this.opts.sessionTimeoutMs },
    });
    this.workersStarted++;
    this.clientsBefore += this.workerClients;
    this.workerClients = 0;
    w.unref();
    w.on('message', (r: ZkReply) => {
      if (this.worker === w) this.workerClients = r.clientsCreated;
      this.pending.get(r.id)?.(r);
    });
    const gone = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.lastWorkerError = why;
      for (const [id, resolve] of this.pending) resolve({ id, ok: false, error: `ZooKeeper worker ended: ${why}`, clientsCreated: 0 });
      this.pending.clear();
    };
    w.on('error', (err) => gone(err.message));
    w.on('exit', (code) => gone(`exit code ${code}`));
    this.worker = w;
    return w;
  }

  private request(op: ZkRequest['op'], path: string, timeoutMs: number): Promise<ZkReply> {
    const w = this.current();
    const id = this.nextId++;
    return new Promise<ZkReply>((resolve) => {
      // The worker enforces the deadline itself; this one only catches a wedged worker.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        if (this.worker === w) {
          this.worker = undefined;
          void w.terminate();
        }
        resolve({ id, ok: false, error: `ZooKeeper worker did not answer within ${timeoutMs + 500} ms`, clientsCreated: 0 });
      }, timeoutMs + 500);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(r);
      });
      w.postMessage({ id, op, path, timeoutMs } satisfies ZkRequest);
    });
  }

  /** One probe; never throws. */
  async probe(timeoutMs: number): Promise<ZkProbeResult> {
    const t0 = Date.now();
    const r = await this.request('exists', this.opts.probePath, timeoutMs);
    if (r.ok) {
      this.consecutiveFailures = 0;
      this.lastOkMs = Date.now();
      return { ok: true, ms: Date.now() - t0 };
    }
    this.consecutiveFailures++;
    this.lastError = r.error ?? 'unknown error';
    return { ok: false, ms: Date.now() - t0, error: this.lastError };
  }

  /** The znode's data, or null when it does not exist; throws on timeout / connection loss. */
  async getData(path: string, timeoutMs: number): Promise<Buffer | null> {
    const r = await this.request('getData', path, timeoutMs);
    if (!r.ok) throw new Error(r.error ?? 'ZooKeeper getData failed');
    return r.data ? Buffer.from(r.data) : null;
  }

  close(): void {
    const w = this.worker;
    this.worker = undefined;
    if (w) {
      w.postMessage({ op: 'close' });
      setTimeout(() => void w.terminate(), 200).unref();
    }
  }
}
