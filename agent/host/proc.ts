// Parsers for the /proc files the host input reads on every tick. Pure functions of
// the file text, so they are cheap (no forks, no shell) and testable.

export interface CpuTimes {
  busy: number;
  total: number;
  cores: number;
}

/** /proc/stat: aggregate jiffies (busy = everything but idle and iowait) and the number of cpuN lines. */
export function parseProcStat(text: string): CpuTimes {
  let busy = 0;
  let total = 0;
  let cores = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    if (line.startsWith('cpu ')) {
      // user nice system idle iowait irq softirq steal guest guest_nice; guest is already in user.
      const f = line.slice(4).trim().split(/\s+/).map(Number);
      const sum = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
      const idle = (f[3] || 0) + (f[4] || 0);
      total = sum;
      busy = sum - idle;
    } else if (line.charCodeAt(3) >= 48 && line.charCodeAt(3) <= 57) {
      cores++;
    }
  }
  return { busy, total, cores };
}

/** CPU busy percent (all cores, 0..100) between two /proc/stat readings. */
export function cpuPercent(prev: CpuTimes, cur: CpuTimes): number {
  const dt = cur.total - prev.total;
  if (!(dt > 0)) return 0;
  return Math.min(100, Math.max(0, ((cur.busy - prev.busy) / dt) * 100));
}

export function parseLoadavg(text: string): { load1: number; load5: number; load15: number } {
  const f = text.trim().split(/\s+/).map(Number);
  return { load1: f[0] || 0, load5: f[1] || 0, load15: f[2] || 0 };
}

export interface MemInfo {
  memTotal: number;
  memAvailable: number;
  swapTotal: number;
  swapFree: number;
}

/** /proc/meminfo → bytes. MemAvailable falls back to MemFree+Buffers+Cached on old kernels. */
export function parseMeminfo(text: string): MemInfo {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) kb.set(line.slice(0, colon), Number.parseInt(line.slice(colon + 1), 10) || 0);
  }
  const b = (k: string): number => (kb.get(k) ?? 0) * 1024;
  const available = kb.has('MemAvailable') ? b('MemAvailable') : b('MemFree') + b('Buffers') + b('Cached');
  return { memTotal: b('MemTotal'), memAvailable: available, swapTotal: b('SwapTotal'), swapFree: b('SwapFree') };
}

export interface IoCounters {
  readBytes: number;
  writeBytes: number;
}

/** /proc/diskstats line of one device (by major:minor, else by name) → bytes read/written. */
export function parseDiskstats(text: string, dev: { major: number; minor: number; name?: string }): IoCounters | undefined {
  let byName: IoCounters | undefined;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    // major minor name reads merged sectors_read ms writes merged sectors_written ...
    const io = { readBytes: Number(f[5]) * 512, writeBytes: Number(f[9]) * 512 };
    if (Number(f[0]) === dev.major && Number(f[1]) === dev.minor) return io;
    if (dev.name && f[2] === dev.name) byName = io;
  }
  return byName;
}

export interface NetCounters {
  rxBytes: number;
  txBytes: number;
}

/** /proc/net/dev counters of one interface. */
export function parseNetDev(text: string, iface: string): NetCounters | undefined {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== iface) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    return { rxBytes: Number(f[0]) || 0, txBytes: Number(f[8]) || 0 };
  }
  return undefined;
}

/** /proc/net/route: the interface of the default route with the lowest metric, or ''. */
export function defaultRouteInterface(text: string): string {
  let best = '';
  let bestMetric = Infinity;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, , flags, , , metric, mask] = f;
    const up = (Number.parseInt(flags!, 16) & 1) === 1;
    if (dest === '00000000' && mask === '00000000' && up && Number(metric) < bestMetric) {
      best = iface!;
      bestMetric = Number(metric);
    }
  }
  return best;
}

export interface MountDevice {
  mountPoint: string;
  major: number;
  minor: number;
  source: string;
  fsType: string;
}

const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** /proc/self/mountinfo: the mount holding `path` (longest mount-point prefix; the last one wins for stacked mounts). */
export function mountFor(text: string, path: string): MountDevice | undefined {
  let best: MountDevice | undefined;
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const f = line.slice(0, sep).split(' ');
    const tail = line.slice(sep + 3).split(' ');
    const mountPoint = unescapeMount(f[4] ?? '');
    const [maj, min] = (f[2] ?? '').split(':').map(Number);
    const inside = mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
    if (!inside) continue;
    if (!best || mountPoint.length >= best.mountPoint.length) {
      best = { mountPoint, major: maj ?? 0, minor: min ?? 0, fsType: tail[0] ?? '', source: unescapeMount(tail[1] ?? '') };
    }
  }
  return best;
}

/** Physical cores from /proc/cpuinfo: distinct (physical id, core id) pairs; 0 when the file has neither. */
export function physicalCores(cpuinfo: string): number {
  const cores = new Set<string>();
  let pkg = '';
  for (const line of cpuinfo.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    if (key === 'physical id') pkg = line.slice(colon + 1).trim();
    else if (key === 'core id') cores.add(`${pkg}/${line.slice(colon + 1).trim()}`);
  }
  return cores.size;
}

/** /etc/os-release (https://www.freedesktop.org/software/systemd/man/latest/os-release.html): "NAME VERSION_ID", or PRETTY_NAME. */
export function osRelease(text: string): string {
  const v: Record<string, string> = {};
  for (const m of text.matchAll(/^([A-Z_]+)=("?)(.*)\2$/gm)) v[m[1]!] = m[3]!;
  return v.PRETTY_NAME ?? `${v.NAME ?? ''} ${v.VERSION_ID ?? ''}`.trim();
}
