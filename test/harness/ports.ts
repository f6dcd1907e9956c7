import net from 'node:net';
import { waitFor, type WaitOptions } from './wait.js';

export const LOOPBACK = '127.0.0.1';

// Ports handed out by this process recently; the kernel may return the same free port twice in a row.
const recentlyHanded = new Set<number>();

/** A TCP port that was free on 127.0.0.1 a moment ago (bind :0, read, close). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.unref();
      server.on('error', reject);
      server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
        const address = server.address();
        server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
      });
    });
    if (!recentlyHanded.has(port) || attempt > 20) {
      recentlyHanded.add(port);
      if (recentlyHanded.size > 200) recentlyHanded.delete(recentlyHanded.values().next().value as number);
      return port;
    }
  }
}

/** True when something accepts a TCP connection on host:port. */
export function canConnect(port: number, host = LOOPBACK, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Waits until host:port accepts TCP connections. */
export async function waitForPort(port: number, opts: WaitOptions & { host?: string } = {}): Promise<void> {
  await waitFor(() => canConnect(port, opts.host), { what: `port ${opts.host ?? LOOPBACK}:${port} to accept connections`, ...opts });
}

/** Connects, optionally writes `payload`, and reads until the peer closes (twemproxy stats, ZooKeeper 4lw). */
export function readToEnd(port: number, payload?: string, timeoutMs = 3000, host = LOOPBACK): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    });
    socket.once('connect', () => {
      if (payload !== undefined) socket.write(payload);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('end', () => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}
