// Reading nutcracker's stats port: raw TCP (not HTTP). Connect, read until the server
// closes, under one deadline and a size cap.
import net from 'node:net';

export const TWEMPROXY_MAX_STATS_BYTES = 4 * 1024 * 1024;

export interface TwemproxyReadOptions {
  /** Deadline for connect + read. */
  timeoutMs: number;
  /** Largest document accepted (default 4 MiB). */
  maxBytes?: number;
}

export class TwemproxyReadError extends Error {
  override name = 'TwemproxyReadError';
}

/** host:port (IPv6 as [::1]:port) → parts. */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new TwemproxyReadError(`bad stats address ${JSON.stringify(address)} (want host:port)`);
  return { host: (m[1] ?? m[2])!, port };
}

export async function readTwemproxyStats(address: string, opts: TwemproxyReadOptions): Promise<Buffer> {
  const { host, port } = splitAddress(address);
  const maxBytes = opts.maxBytes ?? TWEMPROXY_MAX_STATS_BYTES;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const timer = setTimeout(() => {
      finish(
        new TwemproxyReadError(
          `stats ${address}: timed out after ${opts.timeoutMs} ms (${socket.connecting ? 'connecting' : `read ${size} bytes`})`,
        ),
      );
    }, opts.timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        finish(new TwemproxyReadError(`stats ${address}: document larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    socket.on('end', () => finish(undefined));
    socket.on('error', (err) => finish(new TwemproxyReadError(`stats ${address}: ${err.message}`)));
    socket.on('close', () => finish(undefined));
    // Nothing is sent: nutcracker writes the document on accept and closes.
  });
}
