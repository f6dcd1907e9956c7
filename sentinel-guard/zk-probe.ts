// ZooKeeper reachability by our own active probe: one `exists(probePath)` with a hard deadline
// per loop. node-zookeeper-client's session events are not trusted (it stayed SYNC_CONNECTED for
// 20 s through a silent partition and never opens a new session after expiry), so a failed probe
// or any disconnected / expired event throws the client away and the next probe starts a fresh one.
import zookeeper, { type Client } from 'node-zookeeper-client';

export interface ZkProbeResult { ok: boolean; ms: number; error?: string }

export class ZooKeeperProbe {
  private client: Client | undefined;
  private connected = false;
  /** Probes failed in a row (0 after a success). */
  consecutiveFailures = 0;
  lastOkMs = 0;
  lastError = '';
  /** Clients created so far (1 + reconnects): visible in the guard state. */
  clientsCreated = 0;

  constructor(private readonly opts: { servers: string; probePath: string; sessionTimeoutMs: number }) {}

  private fresh(): Client {
    const client = zookeeper.createClient(this.opts.servers, { sessionTimeout: this.opts.sessionTimeoutMs, spinDelay: 200, retries: 0 });
    this.clientsCreated++;
    this.connected = false;
    const drop = () => { if (this.client === client) this.discard(); };
    client.on('connected', () => { if (this.client === client) this.connected = true; });
    client.on('disconnected', drop);
    client.on('expired', drop);
    client.on('authenticationFailed', drop);
    client.connect();
    return client;
  }

  private discard(): void {
    const c = this.client;
    this.client = undefined;
    this.connected = false;
    if (c) {
      try { c.close(); } catch { /* already closed */ }
    }
  }

  private current(): Client {
    return (this.client ??= this.fresh());
  }

  /** One probe; never throws. */
  async probe(timeoutMs: number): Promise<ZkProbeResult> {
    const t0 = Date.now();
    try {
      await this.call<unknown>(timeoutMs, (c, cb) => c.exists(this.opts.probePath, cb));
      this.consecutiveFailures = 0;
      this.lastOkMs = Date.now();
      return { ok: true, ms: Date.now() - t0 };
    } catch (err) {
      this.consecutiveFailures++;
      this.lastError = err instanceof Error ? err.message : String(err);
      this.discard();
      return { ok: false, ms: Date.now() - t0, error: this.lastError };
    }
  }

  /** The znode's data, or null when it does not exist; throws on timeout / connection loss. */
  async getData(path: string, timeoutMs: number): Promise<Buffer | null> {
    try {
      const data = await this.call<Buffer | undefined>(timeoutMs, (c, cb) => c.getData(path, cb));
      return data ?? Buffer.alloc(0);
    } catch (err) {
      const code = (err as { getCode?: () => number }).getCode?.();
      if (code === zookeeper.Exception.NO_NODE) return null;
      throw err;
    }
  }

  /**
   * Runs one request with a deadline. Requests issued before the session is established are
   * queued by the library, so the deadline covers connecting as well.
   */
  private call<T>(timeoutMs: number, fn: (c: Client, cb: (err: Error | null, v: T) => void) => void): Promise<T> {
    const client = this.current();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ZooKeeper within ${timeoutMs} ms${this.connected ? '' : ' (not connected)'}`)), timeoutMs);
      fn(client, (err, v) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(v);
      });
    });
  }

  close(): void {
    this.discard();
  }
}
