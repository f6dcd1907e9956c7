// Decoders for what codis-proxy pushes by itself (metrics_report_influxdb_* and
// metrics_report_statsd_*, reference/codis.md §4): the `codis_usage` point and the StatsD
// gauges. Our sample's proxy-level fields use the same 14 names, so these decoders let a
// test (or a migration script) check a pushed point against a polled sample.
import { ProxyParseError } from '../json.js';

export interface CodisUsagePoint {
  measurement: string;
  tags: Record<string, string>;
  /** Numbers; codis writes uint64 fields quoted ("4"), those are decoded to numbers too. */
  fields: Record<string, number>;
  /** Nanoseconds since the epoch, as written (a string: it exceeds 2^53). */
  timestampNs: string;
}

/** Split on `sep` outside double quotes, honouring backslash escapes. */
function splitUnquoted(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

const unescape = (s: string): string => s.replace(/\\(.)/g, '$1');

function kv(doc: string, part: string): [string, string] {
  const i = part.indexOf('=');
  if (i <= 0) throw new ProxyParseError(doc, '', `expected key=value, got ${JSON.stringify(part)}`);
  return [unescape(part.slice(0, i)), part.slice(i + 1)];
}

/** One InfluxDB line-protocol line as codis writes it (measurement codis_usage). */
export function parseCodisInfluxLine(line: string): CodisUsagePoint {
  const doc = 'codis influx line';
  const parts = splitUnquoted(line.trim(), ' ');
  if (parts.length < 2 || parts.length > 3)
    throw new ProxyParseError(doc, '', `expected "measurement,tags fields [timestamp]", got ${parts.length} space-separated parts`);
  const [head, fieldText, ts] = parts as [string, string, string | undefined];
  const [measurement, ...tagParts] = splitUnquoted(head, ',');
  const tags: Record<string, string> = {};
  for (const t of tagParts) {
    const [k, v] = kv(doc, t);
    tags[k] = unescape(v);
  }
  const fields: Record<string, number> = {};
  for (const f of splitUnquoted(fieldText, ',')) {
    const [k, raw] = kv(doc, f);
    let text = raw;
    if (text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
    else if (/^-?\d+[iu]$/.test(text)) text = text.slice(0, -1);
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) throw new ProxyParseError(doc, k, `not a number: ${raw}`);
    fields[k] = n;
  }
  if (ts !== undefined && !/^-?\d+$/.test(ts)) throw new ProxyParseError(doc, '', `bad timestamp ${JSON.stringify(ts)}`);
  return { measurement: unescape(measurement ?? ''), tags, fields, timestampNs: ts ?? '' };
}

export interface CodisStatsdGauges {
  /** Everything before product_name (the configured prefix; '' when empty). */
  prefix: string;
  productName: string;
  /** Addresses with `.` and `:` turned back from `_` (exact for IPv4 host:port). */
  adminAddr: string;
  proxyAddr: string;
  fields: Record<string, number>;
}

const addrOf = (s: string): string => {
  const i = s.lastIndexOf('_');
  return i < 0 ? s : `${s.slice(0, i).replace(/_/g, '.')}:${s.slice(i + 1)}`;
};

/** One StatsD datagram of codis gauges: `prefix.product.<admin>.<proxy>.<field>:<value>|g` lines. */
export function parseCodisStatsd(datagram: string): CodisStatsdGauges {
  const doc = 'codis statsd datagram';
  const fields: Record<string, number> = {};
  let keyHead: string[] | undefined;
  for (const line of datagram
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const m = /^([^:|]+):([^|]+)\|g$/.exec(line);
    if (!m) throw new ProxyParseError(doc, '', `not a gauge line: ${JSON.stringify(line)}`);
    const segs = m[1]!.split('.');
    if (segs.length < 4) throw new ProxyParseError(doc, '', `key has fewer than 4 segments: ${m[1]}`);
    const value = Number(m[2]);
    if (!Number.isFinite(value)) throw new ProxyParseError(doc, m[1]!, `not a number: ${m[2]}`);
    const head = segs.slice(0, -1);
    if (keyHead && keyHead.join('.') !== head.join('.'))
      throw new ProxyParseError(doc, '', `gauges of two proxies in one datagram: ${keyHead.join('.')} and ${head.join('.')}`);
    keyHead = head;
    fields[segs[segs.length - 1]!] = value;
  }
  if (!keyHead) throw new ProxyParseError(doc, '', 'no gauges');
  const n = keyHead.length;
  return {
    prefix: keyHead.slice(0, n - 3).join('.'),
    productName: keyHead[n - 3]!,
    adminAddr: addrOf(keyHead[n - 2]!),
    proxyAddr: addrOf(keyHead[n - 1]!),
    fields,
  };
}
