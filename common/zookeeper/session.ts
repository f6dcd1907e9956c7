// One node-zookeeper-client session with hard deadlines (the guard runs it inside a worker thread;
// the collector cluster's leader election runs one directly).
// The client's own session events are not trusted (it stayed SYNC_CONNECTED for 20 s through a
// silent partition and never opens a new session after expiry): a request past its deadline, or
// any disconnected / expired event, throws the client away and the next request starts a fresh one.
import zookeeper, { type Client, type Watcher } from 'node-zookeeper-client';

export const CreateMode = zookeeper.CreateMode;
const codeOf = (err: unknown): number | undefined => (err as { getCode?: () => number }).getCode?.();

export class ZkSession {
  private client: Client | undefined;
  private connected = false;
  clientsCreated = 0;

  /** `onDiscard`: the session was thrown away (disconnected, expired, a deadline passed): its ephemeral znodes are to be taken as gone. */
  constructor(private readonly opts: { servers: string; sessionTimeoutMs: number; onDiscard?: () => void }) {}

  private fresh(): Client {
    const client = zookeeper.createClient(this.opts.servers, { sessionTimeout: this.opts.sessionTimeoutMs, spinDelay: 200, retries: 0 });
    this.clientsCreated++;
    this.connected = false;
    const drop = () => {
      if (this.client === client) this.discard();
    };
    client.on('connected', () => {
      if (this.client === client) this.connected = true;
    });
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
      try {
        c.close();
      } catch {
        /* already closed */
      }
      this.opts.onDiscard?.();
    }
  }

  /** Creates the znode (mode: CreateMode.*) and returns its path (with the sequence suffix). */
  async create(path: string, data: Buffer, mode: number, timeoutMs: number): Promise<string> {
    return this.guarded(() => this.call<string>(timeoutMs, (c, cb) => c.create(path, data, mode, cb)));
  }

  /** Creates the path and its parents when missing (persistent, empty). */
  async mkdirp(path: string, timeoutMs: number): Promise<void> {
    await this.guarded(() => this.call<string>(timeoutMs, (c, cb) => c.mkdirp(path, Buffer.alloc(0), cb)));
  }

  /** The children's names; `watcher` fires once on the next change. */
  async getChildren(path: string, timeoutMs: number, watcher?: Watcher): Promise<string[]> {
    return this.guarded(() =>
      this.call<string[]>(timeoutMs, (c, cb) => (watcher ? c.getChildren(path, watcher, cb) : c.getChildren(path, cb))),
    );
  }

  /** Whether the znode exists; `watcher` fires once when it is created, changed or deleted. */
  async existsWatch(path: string, watcher: Watcher, timeoutMs: number): Promise<boolean> {
    const stat = await this.guarded(() => this.call<unknown>(timeoutMs, (c, cb) => c.exists(path, watcher, cb)));
    return stat !== null && stat !== undefined;
  }

  /** Deletes the znode (any version); a missing one is not an error. */
  async remove(path: string, timeoutMs: number): Promise<void> {
    try {
      await this.call<void>(timeoutMs, (c, cb) => c.remove(path, -1, (err) => cb(err, undefined)));
    } catch (err) {
      if (codeOf(err) === zookeeper.Exception.NO_NODE) return;
      this.discard();
      throw err;
    }
  }

  /** A failed request other than "no node" / "exists" leaves the session in doubt: it is thrown away. */
  private async guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const code = codeOf(err);
      if (code !== zookeeper.Exception.NO_NODE && code !== zookeeper.Exception.NODE_EXISTS) this.discard();
      throw err;
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
      const timer = setTimeout(
        () => reject(new Error(`no answer from ZooKeeper within ${timeoutMs} ms${this.connected ? '' : ' (not connected)'}`)),
        timeoutMs,
      );
      fn(client, (err, v) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(v);
      });
    });
  }
}
