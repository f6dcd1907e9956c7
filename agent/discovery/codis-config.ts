// The few codis-proxy TOML keys discovery needs. proxy.toml is flat `key = "value"` lines;
// tables ([section]) are not part of codis-proxy's config, so anything after one is ignored.

export interface CodisProxyToml {
  admin_addr?: string;
  proxy_addr?: string;
  product_name?: string;
  proto_type?: string;
}

const WANTED = new Set<keyof CodisProxyToml>(['admin_addr', 'proxy_addr', 'product_name', 'proto_type']);
const KEY_VALUE = /^([A-Za-z0-9_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*(?:#.*)?$/;

export function parseCodisProxyToml(text: string): CodisProxyToml {
  const out: CodisProxyToml = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) break;
    const m = KEY_VALUE.exec(line);
    if (!m || !WANTED.has(m[1] as keyof CodisProxyToml)) continue;
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
    out[m[1] as keyof CodisProxyToml] = value;
  }
  return out;
}
