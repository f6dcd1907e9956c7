// Parser for the twemproxy (nutcracker) stats document (reference/exporters.md §3):
// header fields at the top level next to one object per pool; inside a pool, counters
// next to one object per server. Pools and servers are found by value type (object vs
// number), never by a list of names, so forks with extra counters parse too.
import { ProxyParseError, isObject, parseJson } from '../json.js';

export interface TwemproxyServer {
  name: string;
  /** Every numeric field as nutcracker reports it (server_ejected_at in µs since epoch). */
  counters: Record<string, number>;
  /** server_ejected_at != 0: nutcracker ejected this server (0.5.0 never clears the stamp). */
  ejected: boolean;
  /** server_ejected_at in ms since the epoch, 0 when never ejected. */
  ejectedAtMs: number;
}

export interface TwemproxyPool {
  name: string;
  /** The pool's own numeric fields (client_eof, client_err, client_connections, server_ejects, forward_error, fragments, ...). */
  counters: Record<string, number>;
  servers: TwemproxyServer[];
}

export interface TwemproxyStats {
  service: string;
  /** Hostname of the proxy. */
  source: string;
  version: string;
  /** Seconds since nutcracker started. */
  uptime: number;
  /** Unix seconds when the document was written. */
  timestamp: number;
  totalConnections: number;
  currConnections: number;
  /** Other top-level scalars (forks add some, e.g. `datacenter`). */
  extra: Record<string, string | number>;
  pools: TwemproxyPool[];
}

const DOC = 'twemproxy stats';
const HEADER_NUMBERS = ['uptime', 'timestamp', 'total_connections', 'curr_connections'] as const;
const HEADER_STRINGS = ['service', 'source', 'version'] as const;

/**
 * Fields that are not cumulative counters: connection and queue gauges and the ejection
 * timestamp. Everything else nutcracker reports only ever grows until a restart.
 */
export function isTwemproxyGauge(field: string): boolean {
  return (
    (field.endsWith('_connections') && field !== 'total_connections') ||
    field.startsWith('in_queue') ||
    field.startsWith('out_queue') ||
    field.endsWith('_at')
  );
}

function numbersAndObjects(
  path: string,
  o: Record<string, unknown>,
): { numbers: Record<string, number>; objects: Array<[string, Record<string, unknown>]>; strings: Record<string, string> } {
  const numbers: Record<string, number> = {};
  const strings: Record<string, string> = {};
  const objects: Array<[string, Record<string, unknown>]> = [];
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new ProxyParseError(DOC, path ? `${path}.${k}` : k, 'not a finite number');
      numbers[k] = v;
    } else if (isObject(v)) {
      objects.push([k, v]);
    } else if (typeof v === 'string') {
      strings[k] = v;
    } else if (v !== null && typeof v !== 'boolean') {
      throw new ProxyParseError(DOC, path ? `${path}.${k}` : k, `unexpected ${Array.isArray(v) ? 'array' : typeof v}`);
    }
  }
  return { numbers, objects, strings };
}

/** Parse the raw bytes (or text) read from the stats port. */
export function parseTwemproxyStats(input: string | Buffer): TwemproxyStats {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  if (text.trim() === '') throw new ProxyParseError(DOC, '', 'empty response (the stats port closed without sending anything)');
  const root = parseJson(text, DOC);
  if (!isObject(root)) throw new ProxyParseError(DOC, '', 'expected a JSON object');
  const top = numbersAndObjects('', root);
  for (const k of HEADER_STRINGS)
    if (typeof root[k] !== 'string')
      throw new ProxyParseError(DOC, k, `missing (got ${JSON.stringify(root[k]) ?? 'nothing'}); not a nutcracker stats document?`);
  for (const k of HEADER_NUMBERS)
    if (top.numbers[k] === undefined)
      throw new ProxyParseError(DOC, k, `missing or not a number (got ${JSON.stringify(root[k]) ?? 'nothing'})`);

  const extra: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(top.numbers)) if (!(HEADER_NUMBERS as readonly string[]).includes(k)) extra[k] = v;
  for (const [k, v] of Object.entries(top.strings)) if (!(HEADER_STRINGS as readonly string[]).includes(k)) extra[k] = v;

  const pools = top.objects.map(([name, obj]): TwemproxyPool => {
    const p = numbersAndObjects(name, obj);
    const servers = p.objects.map(([sname, sobj]): TwemproxyServer => {
      const s = numbersAndObjects(`${name}.${sname}`, sobj);
      if (s.objects.length > 0) throw new ProxyParseError(DOC, `${name}.${sname}.${s.objects[0]![0]}`, 'unexpected object inside a server');
      const at = s.numbers.server_ejected_at ?? 0;
      return { name: sname, counters: s.numbers, ejected: at > 0, ejectedAtMs: Math.floor(at / 1000) };
    });
    return { name, counters: p.numbers, servers };
  });

  return {
    service: root.service as string,
    source: root.source as string,
    version: root.version as string,
    uptime: top.numbers.uptime!,
    timestamp: top.numbers.timestamp!,
    totalConnections: top.numbers.total_connections!,
    currConnections: top.numbers.curr_connections!,
    extra,
    pools,
  };
}
