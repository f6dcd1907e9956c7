// /proc/net/tcp and /proc/net/tcp6: the LISTEN sockets (state 0A) by socket inode.
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
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** LISTEN sockets of one /proc/net/tcp or tcp6 text, keyed by socket inode. */
export function parseListenSockets(text: string, into: Map<number, ListenSocket> = new Map()): Map<number, ListenSocket> {
  let start = text.indexOf('\n') + 1; // header line
  while (start > 0 && start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    const m = LINE.exec(line);
    if (!m || m[3]!.toUpperCase() !== TCP_LISTEN) continue;
    const addr = decodeHexAddress(m[1]!);
    const inode = Number(m[4]);
    if (!addr || inode === 0) continue;
    into.set(inode, { ip: addr.ip, port: Number.parseInt(m[2]!, 16), family: addr.family, inode });
  }
  return into;
}
