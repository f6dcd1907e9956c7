// /proc/net/tcp and /proc/net/tcp6: the LISTEN sockets (state 0A) by socket inode.
import fs from 'node:fs';
import type { ListenSocket } from './types.js';

const TCP_LISTEN = '0A';
// sl: local:port remote:port st tx:rx tr:when retrnsmt uid timeout inode
const LINE = /^\s*\d+:\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{4})\s+\S+\s+([0-9A-Fa-f]{2})\s+\S+\s+\S+\s+\S+\s+\d+\s+\d+\s+(\d+)/;

/**
 * The kernel prints each 32-bit word of the address in host byte order (little-endian here),
 * so 127.0.0.1 is 0100007F and ::1 is 00000000000000000000000001000000.
 */
export function decodeHexAddress(hex: string): { ip: string; family: 4 | 6 } | undefined {
  if (hex.length === 8) {
    const b = wordBytes(hex);
    return { ip: b.join('.'), family: 4 };
  }
  if (hex.length !== 32) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < 32; i += 8) bytes.push(...wordBytes(hex.slice(i, i + 8)));
  // An IPv4-mapped address (::ffff:a.b.c.d) is an IPv4 bind seen through a dual-stack socket.
  if (bytes.slice(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return { ip: `::ffff:${bytes.slice(12).join('.')}`, family: 6 };
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return { ip: compressIPv6(groups), family: 6 };
}

function wordBytes(word: string): number[] {
  const n = Number.parseInt(word, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** RFC 5952: the longest run (≥ 2) of zero groups becomes '::'. */
function compressIPv6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

// SYN_RECV: kernels before 4.4 list the open requests of each listener among the listeners.
const TCP_SYN_RECV = '03';

/**
 * Adds the LISTEN sockets of some /proc/net/tcp or tcp6 lines to `into`. Returns false once a line
 * shows the listeners are over: the kernel walks its listening hash before the established one, so
 * the first ESTABLISHED / TIME_WAIT / ... line ends them.
 */
function addListenLines(text: string, into: Map<number, ListenSocket>): boolean {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const m = LINE.exec(text.slice(start, end));
    start = end + 1;
    if (!m) continue; // the header
    const state = m[3]!.toUpperCase();
    if (state !== TCP_LISTEN) {
      if (state === TCP_SYN_RECV) continue;
      return false;
    }
    const addr = decodeHexAddress(m[1]!);
    const inode = Number(m[4]);
    if (!addr || inode === 0) continue;
    into.set(inode, { ip: addr.ip, port: Number.parseInt(m[2]!, 16), family: addr.family, inode });
  }
  return true;
}

/** LISTEN sockets of a /proc/net/tcp or tcp6 text, keyed by socket inode (up to the first line past the listeners). */
export function parseListenSockets(text: string, into: Map<number, ListenSocket> = new Map()): Map<number, ListenSocket> {
  addListenLines(text, into);
  return into;
}

const CHUNK = 16 * 1024;
const chunk = Buffer.allocUnsafe(CHUNK);

/**
 * Reads a /proc/net/tcp{,6} file only as far as its listeners go. On a busy host the file has a line
 * per connection (and per TIME_WAIT); every read makes the kernel walk its hash tables, so stopping
 * early is what keeps a scan cheap there. Throws like fs.openSync (ENOENT without IPv6).
 */
export function readListenSockets(file: string, into: Map<number, ListenSocket> = new Map()): Map<number, ListenSocket> {
  const fd = fs.openSync(file, 'r');
  try {
    let carry = '';
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) {
        addListenLines(carry, into);
        break;
      }
      const text = carry + chunk.toString('latin1', 0, n);
      const lastNl = text.lastIndexOf('\n');
      carry = text.slice(lastNl + 1);
      if (!addListenLines(text.slice(0, lastNl + 1), into)) break;
    }
  } finally {
    fs.closeSync(fd);
  }
  return into;
}
