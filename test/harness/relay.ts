// A TCP relay in front of a real server: the "network link" a test can cut. cut() is a silent
// partition (connections stay open, nothing is delivered either way, new connections are accepted
// and hang); heal() delivers what queued up meanwhile, like TCP retransmits after a partition heals.
// reset() closes every connection, and the next few as soon as their client speaks (a server
// killing its clients again and again, e.g. Sentinel's CLIENT KILL on each reconfiguration).
import net from 'node:net';
import { LOOPBACK } from './ports.js';

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  toUpstream: Buffer[];
  toClient: Buffer[];
}

export class TcpRelay {
  readonly host = LOOPBACK;
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  private isCut = false;
  /** New connections still to close on their client's first bytes (reset()). */
  private toReset = 0;
  /** Connections closed by reset() so far. */
  resets = 0;
  port = 0;

  private constructor(readonly target: { host: string; port: number }) {}

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get cutNow(): boolean {
    return this.isCut;
  }

  static async start(target: { host: string; port: number }): Promise<TcpRelay> {
    const r = new TcpRelay(target);
    await r.listen();
    return r;
  }

  private listen(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      const pair: Pair = { client, upstream, toUpstream: [], toClient: [] };
      this.pairs.add(pair);
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      // Held in the relay while cut (not in the kernel), so the peers see silence, not a reset.
      client.on('data', (d: Buffer) => {
        if (this.toReset > 0) {
          this.toReset--;
          this.resets++;
          end();
        } else if (this.isCut) pair.toUpstream.push(d);
        else upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => {
        if (this.isCut) pair.toClient.push(d);
        else client.write(d);
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, LOOPBACK, () => {
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  /** Silent partition: nothing moves in either direction until heal(). */
  cut(): void {
    this.isCut = true;
  }

  heal(): void {
    this.isCut = false;
    for (const p of this.pairs) {
      for (const d of p.toUpstream.splice(0)) p.upstream.write(d);
      for (const d of p.toClient.splice(0)) p.client.write(d);
    }
  }

  /** Closes every open connection now, then `more` new ones when their client first sends. */
  reset(more = 0): void {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
      this.resets++;
    }
    this.pairs.clear();
    this.toReset = more;
  }

  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
