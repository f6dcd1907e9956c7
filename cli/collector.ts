// `redis-fleet collector ...`: the collector's HTTP API for people (tables) and scripts (--json).
import { ago, bytes, table } from './table.js';

export interface CollectorCli { url: string; json: boolean }

type Json = Record<string, unknown>;

export class ApiError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

async function call(c: CollectorCli, method: string, path: string, body?: unknown): Promise<Json> {
  let res: Response;
  try {
    res = await fetch(new URL(path, c.url), {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new ApiError(0, `cannot reach the collector at ${c.url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let data: Json = {};
  try { data = text ? (JSON.parse(text) as Json) : {}; } catch { data = { error: text.slice(0, 200) }; }
  if (!res.ok) throw new ApiError(res.status, `${method} ${path}: HTTP ${res.status}: ${String(data.message ?? data.error ?? text.slice(0, 200))}`);
  return data;
}

const list = (d: Json, key: string): Json[] => (Array.isArray(d[key]) ? (d[key] as Json[]) : []);
const str = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const labelsOf = (v: unknown): string => Object.entries((v ?? {}) as Record<string, string>).map(([k, x]) => `${k}=${x}`).join(',');

const VIEWS: Record<string, { path: string; render(d: Json): string }> = {
  hosts: {
    path: '/api/v1/hosts',
    render: (d) => table(['HOST', 'STATUS', 'ROLES', 'LABELS', 'LAST REPORT', 'INSTANCES'], list(d, 'hosts').map((h) => [
      str(h.id), str(h.status), str((h.roles as string[] | undefined)?.join(',')), labelsOf(h.labels), ago(str(h.lastReportAt) || null), str((h.capacity as Json | undefined)?.runningInstances),
    ])),
  },
  instances: {
    path: '/api/v1/instances',
    render: (d) => table(['HOST', 'INSTANCE', 'STATUS', 'ROLE', 'USED', 'LIMIT', 'OPS/S', 'CLIENTS'], list(d, 'instances').map((i) => {
      const head = (i.headroom ?? {}) as Json;
      return [str(i.host), str(i.address), str(i.status), str(i.role), bytes(Number(i.usedMemory ?? head.usedBytes ?? -1)), bytes(Number(head.limitBytes ?? -1)),
        i.opsPerSec === undefined ? '' : Number(i.opsPerSec).toFixed(0), str(i.clients)];
    })),
  },
  proxies: {
    path: '/api/v1/proxies',
    render: (d) => table(['HOST', 'KIND', 'ADDRESS', 'NAME', 'UP', 'ERROR'], list(d, 'proxies').map((p) => [str(p.host), str(p.kind), str(p.address), str(p.name), p.up ? 'up' : 'DOWN', str(p.error)])),
  },
  persistence: {
    path: '/api/v1/persistence',
    render: (d) => table(['HOST', 'STATUS', 'TOKEN', 'QUEUE'], list(d, 'hosts').map((h) => [str(h.host), str(h.status), str(h.tokenHolder) || 'free',
      (h.queue as Json[] | undefined)?.map((q) => `${str(q.kind)}@${str(q.instance)}`).join(' ') ?? ''])),
  },
  guard: {
    path: '/api/v1/guard',
    render: (d) => `fenced instances: ${str(d.fencedInstances)}\n` + table(['HOST', 'ZOOKEEPER', 'SENTINELS', 'INSTANCE', 'PHASE', 'FENCED SINCE', 'WHY / WAITING FOR'], list(d, 'hosts').flatMap((h) => {
      const zk = (h.zookeeper ?? {}) as Json;
      const se = (h.sentinels ?? {}) as Json;
      return list(h, 'instances').map((i) => {
        const f = (i.fence ?? null) as Json | null;
        return [str(h.host), str(zk.state), `${str(se.answeredLastRound)}/${str(se.total)}`, str(i.address), i.fenced ? str(i.phase).toUpperCase() : str(i.phase),
          f ? ago(str(f.since) || null) : '', [f ? str(f.reason) : '', str(i.waitingFor)].filter(Boolean).join(' | ')];
      });
    })),
  },
  alerts: {
    path: '/api/v1/alerts',
    render: (d) => table(['ID', 'STATE', 'SEVERITY', 'ALERT', 'LABELS', 'SINCE', 'ACK'], list(d, 'alerts').map((a) => [
      str(a.id ?? a.fingerprint), str(a.state ?? a.status), str((a.labels as Json | undefined)?.severity), str(a.name ?? (a.labels as Json | undefined)?.alertname),
      labelsOf(a.labels), ago(str(a.startsAt ?? a.activeAt) || null), a.ack || a.acknowledged ? 'yes' : ''])),
  },
  silences: {
    path: '/api/v1/silences',
    render: (d) => table(['ID', 'STATE', 'MATCHERS', 'ENDS', 'BY', 'COMMENT'], (Array.isArray(d) ? (d as Json[]) : list(d, 'silences')).map((s) => [
      str(s.id), str((s.status as Json | undefined)?.state ?? s.state), (s.matchers as Json[] | undefined)?.map((m) => `${str(m.name)}${m.isRegex ? '=~' : '='}${str(m.value)}`).join(',') ?? '',
      str(s.endsAt), str(s.createdBy), str(s.comment)])),
  },
  failovers: {
    path: '/api/v1/failovers',
    render: (d) => table(['WHEN', 'CLUSTER', 'GROUP', 'MASTER NAME', 'OLD MASTER', 'NEW MASTER', 'SOURCE', 'SEEN BY'], list(d, 'failovers').map((f) => [
      str(f.at), str(f.cluster), str(f.group), str(f.masterName), str(f.oldMaster), str(f.newMaster), str(f.source), str((f.seenBy as string[] | undefined)?.join(',')),
    ])),
  },
  rules: {
    path: '/api/v1/rules',
    render: (d) => table(['RULE', 'KIND', 'SEVERITY', 'STATE'], list(d, 'rules').map((r) => [str(r.name), str(r.kind), str(r.severity ?? (r.labels as Json | undefined)?.severity), str(r.state ?? r.health)])),
  },
};

export const COLLECTOR_USAGE = `redis-fleet collector [--url URL] [--json] <command>
  hosts | instances | proxies | persistence | guard | failovers | alerts | silences | rules
  ack <alert-id> [--comment TEXT] [--by NAME]
  silence add <name=value|name=~regex>... --duration 2h [--comment TEXT] [--by NAME]
  silence expire <silence-id>`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}

function parseDurationMs(v: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(v);
  if (!m) throw new ApiError(-1, `--duration must be like 30m, 2h or 1d (got ${JSON.stringify(v)})`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export async function collectorCommand(c: CollectorCli, args: string[]): Promise<string> {
  const [cmd, ...rest] = args;
  const view = cmd ? VIEWS[cmd] : undefined;
  if (view) {
    const d = await call(c, 'GET', view.path);
    return c.json ? JSON.stringify(d, null, 2) : view.render(d);
  }
  const by = flag(rest, '--by') ?? process.env.USER ?? 'redis-fleet-cli';
  const comment = flag(rest, '--comment') ?? '';
  if (cmd === 'ack' && rest[0]) {
    const d = await call(c, 'POST', `/api/v1/alerts/${encodeURIComponent(rest[0])}/ack`, { by, comment });
    return c.json ? JSON.stringify(d) : `acknowledged ${rest[0]}`;
  }
  if (cmd === 'silence' && rest[0] === 'add') {
    const duration = flag(rest, '--duration') ?? '1h';
    const matchers = rest.slice(1).map((m) => {
      const r = /^([A-Za-z_][A-Za-z0-9_]*)(=~|=)(.*)$/.exec(m);
      if (!r) throw new ApiError(-1, `matcher must be name=value or name=~regex (got ${JSON.stringify(m)})`);
      return { name: r[1], value: r[3], isRegex: r[2] === '=~' };
    });
    if (!matchers.length) throw new ApiError(-1, 'silence add needs at least one matcher');
    const now = Date.now();
    const d = await call(c, 'POST', '/api/v1/silences', {
      matchers, startsAt: new Date(now).toISOString(), endsAt: new Date(now + parseDurationMs(duration)).toISOString(), createdBy: by, comment,
    });
    return c.json ? JSON.stringify(d) : `silence ${str(d.silenceID ?? d.id)} until ${new Date(now + parseDurationMs(duration)).toISOString()}`;
  }
  if (cmd === 'silence' && rest[0] === 'expire' && rest[1]) {
    const d = await call(c, 'DELETE', `/api/v1/silences/${encodeURIComponent(rest[1])}`);
    return c.json ? JSON.stringify(d) : `expired silence ${rest[1]}`;
  }
  throw new ApiError(-1, `unknown collector command ${JSON.stringify(args.join(' '))}\n${COLLECTOR_USAGE}`);
}
