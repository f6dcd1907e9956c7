// One pass over procfs: the processes of the four kinds, their socket inodes, and the LISTEN
// sockets of every network namespace they live in. Only reads files (no forks). Reads are
// synchronous (procfs never waits on a disk) but the scan yields to the event loop every
// few hundred of them, so it never holds the agent's loop for long.
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { identifyProcess, parseCodisProxyArgs, splitCmdline } from './identify.js';
import { readListenSockets } from './net-tcp.js';
import type { DiscoveredKind, ListenSocket } from './types.js';

export interface ProcessRecord {
  pid: number;
  kind: DiscoveredKind;
  argv: string[];
  comm: string;
  /** Inodes behind /proc/<pid>/fd/* `socket:[N]` links; undefined when the fd table was unreadable. */
  socketInodes: number[] | undefined;
  /** Network namespace id ('net:[4026531840]'), undefined when unreadable. */
  netns: string | undefined;
  /** codis-proxy only: the --config file's text, or why it could not be read. */
  configText?: string;
  configError?: string;
}

export interface ProcSnapshot {
  processes: ProcessRecord[];
  /** LISTEN sockets by inode, per network namespace id ('' = the scanner's own). */
  listenByNetns: Map<string, Map<number, ListenSocket>>;
  ownNetns: string;
  pids: number;
  permissionDenied: number;
  vanished: number;
}

const YIELD_EVERY = 256;

type ReadOutcome<T> = { ok: true; value: T } | { ok: false; reason: 'permission' | 'vanished' };

function attempt<T>(fn: () => T): ReadOutcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'EACCES' || code === 'EPERM' ? 'permission' : 'vanished' };
  }
}

const SOCKET_LINK = /^socket:\[(\d+)\]$/;

// One buffer for the small per-pid files: readFileSync's fstat and allocation cost three times the read.
const small = Buffer.allocUnsafe(64 * 1024);

/** A small procfs file (cmdline, comm); anything past 64 KiB is cut off, which no title or option needs. */
function readSmall(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    let len = 0;
    for (let n; len < small.length && (n = fs.readSync(fd, small, len, small.length - len, null)) > 0;) len += n;
    return small.toString('latin1', 0, len);
  } finally {
    fs.closeSync(fd);
  }
}

export async function readProcSnapshot(procRoot = '/proc'): Promise<ProcSnapshot> {
  // Always yield once, so even a small scan lets timers and I/O callbacks run (a caller scanning in a loop cannot starve them).
  await yieldLoop();
  let ops = 0;
  const pace = async (n = 1): Promise<void> => {
    ops += n;
    if (ops >= YIELD_EVERY) {
      ops = 0;
      await yieldLoop();
    }
  };
  const snap: ProcSnapshot = { processes: [], listenByNetns: new Map(), ownNetns: '', pids: 0, permissionDenied: 0, vanished: 0 };
  const own = attempt(() => fs.readlinkSync(path.join(procRoot, 'self/ns/net')));
  snap.ownNetns = own.ok ? own.value : '';
  /** Where to read each namespace's tables: ours under /proc/net, a container's under one of its pids. */
  const netDirs = new Map<string, string>([[snap.ownNetns, path.join(procRoot, 'net')]]);

  const pids = fs
    .readdirSync(procRoot)
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
  snap.pids = pids.length;
  const skip = (reason: 'permission' | 'vanished'): void => {
    if (reason === 'permission') snap.permissionDenied++;
    else snap.vanished++;
  };

  for (const pid of pids) {
    await pace(2);
    const dir = path.join(procRoot, String(pid));
    const cmdline = attempt(() => readSmall(path.join(dir, 'cmdline')));
    if (!cmdline.ok) {
      skip(cmdline.reason);
      continue;
    }
    const argv = splitCmdline(cmdline.value);
    if (argv.length === 0) continue; // kernel thread or zombie
    const commRead = attempt(() => readSmall(path.join(dir, 'comm')).trim());
    if (!commRead.ok) {
      skip(commRead.reason);
      continue;
    }
    const kind = identifyProcess(argv, commRead.value);
    if (!kind) continue;

    const record: ProcessRecord = { pid, kind, argv, comm: commRead.value, socketInodes: undefined, netns: undefined };
    const fdDir = path.join(dir, 'fd');
    const fds = attempt(() => fs.readdirSync(fdDir));
    if (fds.ok) {
      const inodes: number[] = [];
      for (const fd of fds.value) {
        const link = attempt(() => fs.readlinkSync(path.join(fdDir, fd)));
        const m = link.ok ? SOCKET_LINK.exec(link.value) : null;
        if (m) inodes.push(Number(m[1]));
        await pace();
      }
      record.socketInodes = inodes;
    } else if (fds.reason === 'permission') {
      snap.permissionDenied++;
    } else {
      snap.vanished++;
      continue;
    }
    const ns = attempt(() => fs.readlinkSync(path.join(dir, 'ns/net')));
    record.netns = ns.ok ? ns.value : undefined;
    // A container sharing our pid namespace but not our network: its own tables are under its pid.
    if (record.netns !== undefined && !netDirs.has(record.netns)) netDirs.set(record.netns, path.join(dir, 'net'));
    if (kind === 'codis-proxy' || kind === 'codis-dashboard') readCodisConfig(dir, record);
    snap.processes.push(record);
  }
  // Read after the fd tables (and only when there is a candidate): each read of these files makes the
  // kernel walk its whole TCP hash, the biggest single cost of a scan.
  const namespaces = new Set(snap.processes.map((p) => p.netns ?? snap.ownNetns));
  for (const netns of namespaces) snap.listenByNetns.set(netns, readListenTables(netDirs.get(netns)!));
  if (!snap.listenByNetns.has(snap.ownNetns)) snap.listenByNetns.set(snap.ownNetns, new Map());
  return snap;
}

const TABLES = [
  { file: 'tcp', sockstat: 'sockstat', label: 'TCP' },
  { file: 'tcp6', sockstat: 'sockstat6', label: 'TCP6' },
];

function readListenTables(netDir: string): Map<number, ListenSocket> {
  const listen = new Map<number, ListenSocket>();
  for (const t of TABLES) {
    // Reading tcp6 on a host without one IPv6 socket still walks the whole TCP hash (~5 ms here);
    // sockstat's in-use count (listeners included) says whether there is anything to find.
    const stat = attempt(() => readSmall(path.join(netDir, t.sockstat)));
    if (stat.ok && new RegExp(`^${t.label}: inuse 0\\b`, 'm').test(stat.value)) continue;
    attempt(() => readListenSockets(path.join(netDir, t.file), listen)); // tcp6 is absent when IPv6 is disabled
  }
  return listen;
}

/** Reads the --config file through the process's own root and cwd links, so containers and relative paths work. */
function readCodisConfig(pidDir: string, record: ProcessRecord): void {
  const file = parseCodisProxyArgs(record.argv).configFile;
  if (file === undefined) return;
  const viaProc = path.isAbsolute(file) ? path.join(pidDir, 'root', file) : path.join(pidDir, 'cwd', file);
  try {
    record.configText = fs.readFileSync(viaProc, 'utf8');
  } catch (err) {
    record.configError = (err as NodeJS.ErrnoException).code ?? String(err);
  }
}
