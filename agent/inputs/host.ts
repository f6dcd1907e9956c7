// Input "host": CPU, load, memory, swap, the data volume's space and I/O, and the
// default-route interface's traffic, read straight from /proc on every tick (a fraction
// of a millisecond, no forks). The inventory line logged at start comes from node:os,
// /proc/cpuinfo and /etc/os-release: no forks, and no library kept in memory for one line.
import fs from 'node:fs';
import os from 'node:os';
import { OnceLog, type Logger } from '../../common/index.js';
import type { HostMetrics } from '../../proto/index.js';
import type { Accumulator } from '../accumulator.js';
import {
  cpuPercent,
  defaultRouteInterface,
  mountFor,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  osRelease,
  physicalCores,
  type CpuTimes,
  type IoCounters,
  type MountDevice,
  type NetCounters,
} from '../host/proc.js';
import type { Input, InputContext } from './input.js';

const read = (file: string): string => fs.readFileSync(file, 'utf8');

interface Baseline {
  atNs: bigint;
  cpu: CpuTimes;
  disk: IoCounters | undefined;
  net: NetCounters | undefined;
}

export class HostInput implements Input {
  readonly name = 'host';
  private readonly logger: Logger;
  private readonly once = new OnceLog();
  private readonly dataPath: string;
  private mount: MountDevice | undefined;
  private iface = '';
  private prev: Baseline | undefined;

  constructor(ctx: InputContext) {
    this.logger = ctx.logger.child({ input: 'host' });
    this.dataPath = ctx.config.dataPath;
  }

  async start(): Promise<void> {
    let real = this.dataPath;
    try {
      real = fs.realpathSync(this.dataPath);
    } catch {
      /* statfs will say */
    }
    try {
      this.mount = mountFor(read('/proc/self/mountinfo'), real);
    } catch {
      this.mount = undefined;
    }
    this.iface = this.resolveInterface();
    this.prev = this.baseline();
    if (!this.prev.disk)
      this.logger.warn(
        { dataPath: this.dataPath, mount: this.mount?.mountPoint, source: this.mount?.source },
        'no block device found for dataPath; disk I/O reported as 0',
      );
    if (!this.iface) this.logger.warn('no default route; network traffic reported as 0');
    this.logInventory();
  }

  private resolveInterface(): string {
    try {
      return defaultRouteInterface(read('/proc/net/route'));
    } catch {
      return '';
    }
  }

  private readDisk(): IoCounters | undefined {
    const m = this.mount;
    if (!m) return undefined;
    const name = m.source.startsWith('/dev/') ? m.source.slice(5) : undefined;
    // major 0 = no real device number (btrfs, overlay, tmpfs): fall back to the source's name.
    const dev = m.major === 0 ? { major: -1, minor: -1, name } : { major: m.major, minor: m.minor, name };
    return parseDiskstats(read('/proc/diskstats'), dev);
  }

  private readNet(): NetCounters | undefined {
    if (!this.iface) return undefined;
    return parseNetDev(read('/proc/net/dev'), this.iface);
  }

  private baseline(): Baseline {
    return { atNs: process.hrtime.bigint(), cpu: parseProcStat(read('/proc/stat')), disk: this.readDisk(), net: this.readNet() };
  }

  async gather(acc: Accumulator): Promise<void> {
    const cur = this.baseline();
    if (this.iface && !cur.net) {
      // The interface went away (renamed, bonded): look up the default route again.
      this.iface = this.resolveInterface();
      cur.net = this.readNet();
    }
    const prev = this.prev ?? cur;
    this.prev = cur;
    const seconds = Number(cur.atNs - prev.atNs) / 1e9;
    const perSec = (a: number | undefined, b: number | undefined): number =>
      seconds > 0 && a !== undefined && b !== undefined && b >= a ? (b - a) / seconds : 0;
    const mem = parseMeminfo(read('/proc/meminfo'));
    const load = parseLoadavg(read('/proc/loadavg'));
    let diskTotal = 0;
    let diskFree = 0;
    try {
      const st = fs.statfsSync(this.dataPath);
      diskTotal = st.blocks * st.bsize;
      diskFree = st.bavail * st.bsize;
      if (this.once.clear('statfs')) this.logger.info({ dataPath: this.dataPath }, 'dataPath readable again');
    } catch (err) {
      if (this.once.enter('statfs', 'failed'))
        this.logger.warn({ dataPath: this.dataPath, error: (err as Error).message }, 'cannot statfs dataPath');
    }
    const metrics: HostMetrics = {
      cpuPercent: cpuPercent(prev.cpu, cur.cpu),
      cpuCores: cur.cpu.cores,
      ...load,
      memTotalBytes: mem.memTotal,
      memAvailableBytes: mem.memAvailable,
      swapTotalBytes: mem.swapTotal,
      swapUsedBytes: Math.max(0, mem.swapTotal - mem.swapFree),
      dataPath: this.dataPath,
      diskTotalBytes: diskTotal,
      diskFreeBytes: diskFree,
      diskReadBytesPerSec: perSec(prev.disk?.readBytes, cur.disk?.readBytes),
      diskWriteBytesPerSec: perSec(prev.disk?.writeBytes, cur.disk?.writeBytes),
      netRxBytesPerSec: perSec(prev.net?.rxBytes, cur.net?.rxBytes),
      netTxBytesPerSec: perSec(prev.net?.txBytes, cur.net?.txBytes),
      netInterface: this.iface,
    };
    acc.setHost(metrics);
  }

  /** Static inventory, once, for the log (never on the tick). */
  private logInventory(): void {
    const text = (file: string): string => {
      try {
        return read(file);
      } catch {
        return '';
      }
    };
    const cpus = os.cpus();
    this.logger.info(
      {
        cpu: cpus[0]?.model.trim() ?? '',
        cores: cpus.length,
        physicalCores: physicalCores(text('/proc/cpuinfo')) || cpus.length,
        os: osRelease(text('/etc/os-release') || text('/usr/lib/os-release')),
        kernel: os.release(),
        arch: os.arch(),
        memTotalBytes: os.totalmem(),
        dataPath: this.dataPath,
        dataDevice: this.mount?.source,
        netInterface: this.iface,
      },
      'host inventory',
    );
  }
}

export function hostInput(ctx: InputContext): Input {
  return new HostInput(ctx);
}
