// Checks of agent messages beyond what protobuf decoding guarantees. Each problem
// is one specific sentence naming the field, sent back as INVALID_ARGUMENT.
import { PROTOCOL_VERSION, type Hello, type Report } from '../proto/index.js';

const MAX_INTERVAL_MS = 86_400_000;
const MIN_INTERVAL_MS = 100;
// eslint-disable-next-line no-control-regex
const BAD_ID_CHARS = /[\s/\u0000-\u001f\u007f]/;

function text(value: string, field: string, max: number, required: boolean): string | null {
  if (required && !value) return `${field} is empty`;
  if (value.length > max) return `${field} is longer than ${max} characters`;
  return null;
}

export function helloProblem(h: Hello): string | null {
  const id = text(h.hostId, 'hello.hostId', 253, true);
  if (id) return id;
  if (BAD_ID_CHARS.test(h.hostId)) return 'hello.hostId must not contain "/", whitespace or control characters';
  if (h.protocolVersion !== PROTOCOL_VERSION) {
    return `hello.protocolVersion ${h.protocolVersion} is not supported (this collector speaks ${PROTOCOL_VERSION})`;
  }
  const session = text(h.sessionId, 'hello.sessionId', 128, true);
  if (session) return session;
  if (!(h.intervalMs >= MIN_INTERVAL_MS && h.intervalMs <= MAX_INTERVAL_MS)) {
    return `hello.intervalMs must be between ${MIN_INTERVAL_MS} and ${MAX_INTERVAL_MS} (got ${h.intervalMs})`;
  }
  const version = text(h.agentVersion, 'hello.agentVersion', 64, false);
  if (version) return version;
  const labels = Object.entries(h.labels ?? {});
  if (labels.length > 64) return `hello.labels has ${labels.length} entries (at most 64)`;
  for (const [k, v] of labels) {
    const p = text(k, 'hello.labels key', 128, true) ?? text(v, `hello.labels.${k}`, 256, false);
    if (p) return p;
  }
  if (h.roles.length > 16) return `hello.roles has ${h.roles.length} entries (at most 16)`;
  if ((h.reportForms?.length ?? 0) > 16) return `hello.reportForms has ${h.reportForms!.length} entries (at most 16)`;
  for (let i = 0; i < h.roles.length; i++) {
    const p = text(h.roles[i]!, `hello.roles[${i}]`, 64, true);
    if (p) return p;
  }
  return null;
}

export function reportProblem(r: Report): string | null {
  if (!(r.seq >= 1)) return `report.seq must be >= 1 (got ${r.seq})`;
  if (!(r.timestampMs > 0)) return `report.timestampMs must be > 0 (seq ${r.seq})`;
  const seen = new Set<string>();
  for (let i = 0; i < r.redis.length; i++) {
    const a = r.redis[i]!.address;
    const p = text(a, `report.redis[${i}].address`, 256, true);
    if (p) return p;
    if (seen.has(a)) return `report.redis[${i}].address ${a} appears twice`;
    seen.add(a);
  }
  const proxies = new Set<string>();
  for (let i = 0; i < r.proxies.length; i++) {
    const px = r.proxies[i]!;
    if (px.kind !== 'codis' && px.kind !== 'twemproxy')
      return `report.proxies[${i}].kind must be codis or twemproxy (got ${JSON.stringify(px.kind.slice(0, 40))})`;
    const p = text(px.address, `report.proxies[${i}].address`, 256, true) ?? text(px.name, `report.proxies[${i}].name`, 256, false);
    if (p) return p;
    if (proxies.has(px.address)) return `report.proxies[${i}].address ${px.address} appears twice`;
    proxies.add(px.address);
    if (px.items.length > MAX_PROXY_ITEMS) return `report.proxies[${i}].items has ${px.items.length} entries (at most ${MAX_PROXY_ITEMS})`;
  }
  const dashboards = new Set<string>();
  for (let i = 0; i < (r.dashboards ?? []).length; i++) {
    const d = r.dashboards![i]!;
    const p =
      text(d.address, `report.dashboards[${i}].address`, 256, true) ??
      text(d.product, `report.dashboards[${i}].product`, 256, false) ??
      text(d.name, `report.dashboards[${i}].name`, 256, false);
    if (p) return p;
    if (dashboards.has(d.address)) return `report.dashboards[${i}].address ${d.address} appears twice`;
    dashboards.add(d.address);
    if (d.items.length > MAX_PROXY_ITEMS) return `report.dashboards[${i}].items has ${d.items.length} entries (at most ${MAX_PROXY_ITEMS})`;
  }
  const sentinels = r.sentinels ?? [];
  if (sentinels.length > MAX_SENTINELS) return `report.sentinels has ${sentinels.length} entries (at most ${MAX_SENTINELS})`;
  for (let i = 0; i < sentinels.length; i++) {
    const p = text(sentinels[i]!.address, `report.sentinels[${i}].address`, 256, true);
    if (p) return p;
    if (sentinels[i]!.masters.length > MAX_SENTINEL_MASTERS)
      return `report.sentinels[${i}].masters has ${sentinels[i]!.masters.length} entries (at most ${MAX_SENTINEL_MASTERS})`;
  }
  for (let i = 0; i < r.events.length; i++) {
    const p = text(r.events[i]!.kind, `report.events[${i}].kind`, 128, true);
    if (p) return p;
  }
  return r.persistence ? persistenceProblem(r.persistence) : null;
}

const MAX_PROXY_ITEMS = 20_000;
const MAX_SENTINELS = 256;
const MAX_SENTINEL_MASTERS = 10_000;
const MAX_PERSISTENCE_FIELDS = 20_000;
const MAX_PERSISTENCE_QUEUE = 10_000;

function persistenceProblem(p: NonNullable<Report['persistence']>): string | null {
  const holder = text(p.tokenHolder ?? '', 'report.persistence.tokenHolder', 256, false);
  if (holder) return holder;
  const queue = p.queue ?? [];
  if (queue.length > MAX_PERSISTENCE_QUEUE)
    return `report.persistence.queue has ${queue.length} entries (at most ${MAX_PERSISTENCE_QUEUE})`;
  for (let i = 0; i < queue.length; i++) {
    const q = text(queue[i]!, `report.persistence.queue[${i}]`, 300, true);
    if (q) return q;
  }
  const keys = Object.keys(p.fields ?? {});
  if (keys.length > MAX_PERSISTENCE_FIELDS)
    return `report.persistence.fields has ${keys.length} entries (at most ${MAX_PERSISTENCE_FIELDS})`;
  for (const k of keys) {
    const f = text(k, 'report.persistence.fields key', 320, true);
    if (f) return f;
  }
  return null;
}
