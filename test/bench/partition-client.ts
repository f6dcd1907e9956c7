// A writer for the partition benchmark, run inside a network namespace: SADDs unique members
// (`<id>-<n>`) as fast as its master answers and records every acknowledged one with its time.
// mode sentinel: finds the master through the Sentinels (like a Sentinel-aware client);
// mode direct: always writes to one address (like a proxy on the minority side).
// On SIGTERM it writes {acked: [[n, ms]...], errors: {class: [first ms, count]}} to `out`.
import fs from 'node:fs';
import { Redis } from 'ioredis';

interface Options {
  id: string;
  mode: 'sentinel' | 'direct';
  master?: string;
  sentinels?: string[];
  user: string;
  password: string;
  out: string;
  key: string;
}
const o = JSON.parse(process.argv[2]!) as Options;

const acked: Array<[number, number]> = [];
const errors: Record<string, [number, number]> = {};
let n = 0;
let stopping = false;
let client: Redis | undefined;
let clientAddr = '';

function split(a: string): { host: string; port: number } {
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
}

function connect(addr: string): Redis {
  const c = new Redis({
    ...split(addr),
    username: o.user,
    password: o.password,
    maxRetriesPerRequest: 0,
    commandTimeout: 300,
    connectTimeout: 300,
    enableOfflineQueue: false,
    retryStrategy: () => 50,
  });
  c.on('error', () => {});
  return c;
}

async function masterFromSentinels(): Promise<string | undefined> {
  for (const s of o.sentinels ?? []) {
    const c = new Redis({
      ...split(s),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      commandTimeout: 300,
      connectTimeout: 300,
      retryStrategy: () => null,
    });
    c.on('error', () => {});
    try {
      await c.connect();
      const r = (await c.call('SENTINEL', 'get-master-addr-by-name', 'g1')) as string[] | null;
      if (r) return `${r[0]}:${r[1]}`;
    } catch {
      /* next Sentinel */
    } finally {
      c.disconnect();
    }
  }
  return undefined;
}

function classOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return /^[A-Z]{4,}/.exec(m)?.[0] ?? (/timed? ?out/i.test(m) ? 'TIMEOUT' : 'CONNECTION');
}

let lastLookup = 0;
async function loop(): Promise<void> {
  while (!stopping) {
    if (o.mode === 'sentinel' && Date.now() - lastLookup > 500) {
      lastLookup = Date.now();
      const m = await masterFromSentinels();
      if (m && m !== clientAddr) {
        client?.disconnect();
        client = connect(m);
        clientAddr = m;
      }
    } else if (o.mode === 'direct' && !client) {
      client = connect(o.master!);
      clientAddr = o.master!;
    }
    if (!client) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const i = n++;
    try {
      await client.sadd(o.key, `${o.id}-${i}`);
      acked.push([i, Date.now()]);
    } catch (err) {
      const c = classOf(err);
      const e = (errors[c] ??= [Date.now(), 0]);
      e[1]++;
      if (o.mode === 'sentinel') lastLookup = 0;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 4));
  }
}

process.on('SIGTERM', () => {
  stopping = true;
});
await loop();
fs.writeFileSync(o.out, JSON.stringify({ acked, errors, attempted: n }));
client?.disconnect();
process.exit(0);
