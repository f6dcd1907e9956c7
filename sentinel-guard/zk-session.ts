// One node-zookeeper-client session with hard deadlines, run inside the ZooKeeper worker thread.
// The client's own session events are not trusted (it stayed SYNC_CONNECTED for 20 s through a
// silent partition and never opens a new session after expiry): a request past its deadline, or
// any disconnected / expired event, throws the client away and the next request starts a fresh one.
import zookeeper, { type Client } from 'node-zookeeper-client';

export class ZkSession {
  private client: Client | undefined;
  private connected = false;
  clientsCreated = 0;

  constructor(private readonly opts: { servers: string; sessionTimeoutMs: number }) {}

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

  discard(): void {
    const c = this.client;
    this.client = undefined;
    this.connected = false;
    if (c) {
      try { c.close(); } catch { /* already closed */ }
    }
  }

  async exists(path: string, timeoutMs: number): Promise<void> {
    try {
      await this.call<unknown>(timeoutMs, (c, cb) => c.exists(path, cb));
    } catch (err) {
      this.discard();
      throw err;
    }
  }

  /** The znode's data, or null when it does not exist. */
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

  /** Requests issued before the session is established are queued by the library: the deadline covers connecting too. */
  private call<T>(timeoutMs: number, fn: (c: Client, cb: (err: Error | null, v: T) => void) => void): Promise<T> {
    const client = (this.client ??= this.fresh());
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ZooKeeper within ${timeoutMs} ms${this.connected ? '' : ' (not connected)'}`)), timeoutMs);
      fn(client, (err, v) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(v);
      });
    });
  }
}
