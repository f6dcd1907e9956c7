// Small measuring helpers shared by the benchmarks: process CPU and memory from /proc.
import fs from 'node:fs';

const CLK_TCK = 100;

/** User+system CPU milliseconds of a process so far. */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
}

/** CPU ms of each thread of `pid`, the main thread apart. */
export function threadCpuMs(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let ns: number;
    try {
      ns = Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      continue; // the thread ended
    }
    if (tid === String(pid)) main += ns / 1e6;
    else others += ns / 1e6;
  }
  return { main, others };
}

/** This process's CPU ms and that of its reaped children (/proc/self/stat utime+stime, cutime+cstime). */
export function selfAndChildrenCpuMs(): { self: number; children: number } {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { self: ((f[11]! + f[12]!) * 1000) / CLK_TCK, children: ((f[13]! + f[14]!) * 1000) / CLK_TCK };
}

/** Resident set size (VmRSS), its high-water mark (VmHWM) and its anonymous part (RssAnon: heap, not the mapped binary) in bytes. */
export function memory(pid: number): { rss: number; hwm: number; anon: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon') };
}

export function memAvailable(): number {
  return Number(/^MemAvailable:\s+(\d+)/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
export const fixed = (n: number, d = 2) => n.toFixed(d);

export function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((v, c) => String(v).padEnd(widths[c]!)).join('  ')).join('\n');
}

/** A real HTTP receiver on loopback recording every JSON body with its arrival time. */
export async function webhookReceiver(): Promise<{ url: string; got: { at: number; body: any }[]; close(): void }> {
  const http = await import('node:http');
  const got: { at: number; body: any }[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      got.push({ at: Date.now(), body: JSON.parse(raw) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as import('node:net').AddressInfo;
  return { url: `http://127.0.0.1:${port}`, got, close: () => server.close() };
}

/** CPU ms of a process and all its descendants, live and reaped (a PostgreSQL postmaster and its backends). */
export function treeCpuMs(root: number): number {
  const parent = new Map<number, number>();
  const own = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat
        .slice(stat.lastIndexOf(')') + 2)
        .split(' ')
        .map(Number);
      parent.set(Number(d), f[1]!);
      own.set(Number(d), ((f[11]! + f[12]! + f[13]! + f[14]!) * 1000) / CLK_TCK);
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  for (const [pid, ms] of own) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        total += ms;
        break;
      }
    }
  }
  return total;
}
