// `redis-fleet collector ...`: the collector's HTTP API for people (tables) and scripts (--json).
import { ago, bytes, table } from './table.js';

export interface CollectorCli {
  url: string;
  json: boolean;
  token?: string;
}

type Json = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call(c: CollectorCli, method: string, path: string, body?: unknown): Promise<Json> {
  let res: Response;
  try {
    res = await fetch(new URL(path, c.url), {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(c.token ? { authorization: `Bearer ${c.token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new ApiError(
      0,
      `cannot reach the collector at ${c.url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`,
    );
  }
  const text = await res.text();
  let data: Json = {};
  try {
    data = text ? (JSON.parse(text) as Json) : {};
  } catch {
    data = { error: text.slice(0, 200) };
  }
  if (!res.ok)
    throw new ApiError(res.status, `${method} ${path}: HTTP ${res.status}: ${String(data.message ?? data.error ?? text.slice(0, 200))}`);
  return data;
}

const list = (d: Json, key: string): Json[] => (Array.isArray(d[key]) ? (d[key] as Json[]) : []);
const str = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const labelsOf = (v: unknown): string =>
  Object.entries((v ?? {}) as Record<string, string>)
    .map(([k, x]) => `${k}=${x}`)
    .join(',');

const VIEWS: Record<string, { path: string; render(d: Json): string }> = {
  hosts: {
    path: '/api/v1/hosts',
    render: (d) =>
      table(
        ['HOST', 'STATUS', 'ROLES', 'LABELS', 'LAST REPORT', 'INSTANCES'],
        list(d, 'hosts').map((h) => [
          str(h.id),
          str(h.status),
          str((h.roles as string[] | undefined)?.join(',')),
          labelsOf(h.labels),
          ago(str(h.lastReportAt) || null),
          str((h.capacity as Json | undefined)?.runningInstances),
        ]),
      ),
  },
  instances: {
    path: '/api/v1/instances',
    render: (d) =>
      table(
        ['HOST', 'INSTANCE', 'STATUS', 'ROLE', 'USED', 'LIMIT', 'OPS/S', 'CLIENTS'],
        list(d, 'instances').map((i) => {
          const head = (i.headroom ?? {}) as Json;
          return [
            str(i.host),
            str(i.address),
            str(i.status),
            str(i.role),
            bytes(Number(i.usedMemory ?? head.usedBytes ?? -1)),
            bytes(Number(head.limitBytes ?? -1)),
            i.opsPerSec === undefined ? '' : Number(i.opsPerSec).toFixed(0),
            str(i.clients),
          ];
        }),
      ),
  },
  proxies: {
    path: '/api/v1/proxies',
    render: (d) =>
      table(
        ['HOST', 'KIND', 'ADDRESS', 'NAME', 'UP', 'ERROR'],
        list(d, 'proxies').map((p) => [str(p.host), str(p.kind), str(p.address), str(p.name), p.up ? 'up' : 'DOWN', str(p.error)]),
      ),
  },
  codis: {
    path: '/api/v1/codis',
    render: (d) =>
      list(d, 'clusters')
        .map((c) => {
          const m = (c.migration ?? {}) as Json;
          const slots = (c.slots ?? {}) as Json;
          const head =
            `product ${str(c.product)}: dashboards ${list(c, 'dashboards')
              .map((x) => `${str(x.address)} ${x.up ? (x.misconfigured ? 'MISCONFIGURED' : 'up') : 'DOWN'}`)
              .join(', ')}` +
            ` | slots unassigned ${str(slots.unassigned)} | migration queue ${str(m.queue)} (pending ${str(m.pending)}, preparing ${str(m.preparing)},` +
            ` migrating ${str(m.migrating)}${m.disabled ? ', DISABLED' : ''}${Number(m.stalledSeconds) > 0 ? `, no progress for ${Number(m.stalledSeconds).toFixed(0)}s` : ''})`;
          const groups = table(
            ['GROUP', 'MASTER', 'SERVERS', 'UNREACHABLE', 'SLOTS', 'SYNC'],
            list(c, 'groups').map((g) => [
              str(g.id),
              str(g.master),
              str(g.servers === undefined ? '' : (g.servers as Json[]).length),
              str(g.servers_unreachable),
              str(g.slots),
              g.out_of_sync ? 'OUT OF SYNC' : 'ok',
            ]),
          );
          const proxies = table(
            ['PROXY', 'STATE', 'SESSIONS', 'QPS', 'ERROR'],
            list(c, 'proxies').map((p) => [str(p.address), str(p.state), str(p.sessions_alive), str(p.ops_qps), str(p.error)]),
          );
          return `${head}\n${groups}\n${proxies}`;
        })
        .join('\n\n'),
  },
  persistence: {
    path: '/api/v1/persistence',
    render: (d) =>
      table(
        ['HOST', 'STATUS', 'TOKEN', 'QUEUE'],
        list(d, 'hosts').map((h) => [
          str(h.host),
          str(h.status),
          str(h.tokenHolder) || 'free',
          (h.queue as Json[] | undefined)?.map((q) => `${str(q.kind)}@${str(q.instance)}`).join(' ') ?? '',
        ]),
      ),
  },
  guard: {
    path: '/api/v1/guard',
    render: (d) =>
      `fenced instances: ${str(d.fencedInstances)}\n` +
      table(
        ['HOST', 'ZOOKEEPER', 'SENTINELS', 'INSTANCE', 'PHASE', 'FENCED SINCE', 'WHY / WAITING FOR'],
        list(d, 'hosts').flatMap((h) => {
          const zk = (h.zookeeper ?? {}) as Json;
          const se = (h.sentinels ?? {}) as Json;
          return list(h, 'instances').map((i) => {
            const f = (i.fence ?? null) as Json | null;
            return [
              str(h.host),
              str(zk.state),
              `${str(se.answeredLastRound)}/${str(se.total)}`,
              str(i.address),
              i.fenced ? str(i.phase).toUpperCase() : str(i.phase),
              f ? ago(str(f.since) || null) : '',
              [f ? str(f.reason) : '', str(i.waitingFor)].filter(Boolean).join(' | '),
            ];
          });
        }),
      ),
  },
  alerts: {
    path: '/api/v1/alerts',
    render: (d) =>
      table(
        ['ID', 'STATE', 'SEVERITY', 'ALERT', 'LABELS', 'SINCE', 'ACK'],
        list(d, 'alerts').map((a) => [
          str(a.id ?? a.fingerprint),
          str(a.state ?? a.status),
          str((a.labels as Json | undefined)?.severity),
          str(a.name ?? (a.labels as Json | undefined)?.alertname),
          labelsOf(a.labels),
          ago(str(a.startsAt ?? a.activeAt) || null),
          a.ack || a.acknowledged ? 'yes' : '',
        ]),
      ),
  },
  silences: {
    path: '/api/v1/silences',
    render: (d) =>
      table(
        ['ID', 'STATE', 'MATCHERS', 'ENDS', 'BY', 'COMMENT'],
        (Array.isArray(d) ? (d as Json[]) : list(d, 'silences')).map((s) => [
          str(s.id),
          str((s.status as Json | undefined)?.state ?? s.state),
          (s.matchers as Json[] | undefined)?.map((m) => `${str(m.name)}${m.isRegex ? '=~' : '='}${str(m.value)}`).join(',') ?? '',
          str(s.endsAt),
          str(s.createdBy),
          str(s.comment),
        ]),
      ),
  },
  failovers: {
    path: '/api/v1/failovers',
    render: (d) =>
      table(
        ['WHEN', 'CLUSTER', 'GROUP', 'MASTER NAME', 'OLD MASTER', 'NEW MASTER', 'SOURCE', 'SEEN BY'],
        list(d, 'failovers').map((f) => [
          str(f.at),
          str(f.cluster),
          str(f.group),
          str(f.masterName),
          str(f.oldMaster),
          str(f.newMaster),
          str(f.source),
          str((f.seenBy as string[] | undefined)?.join(',')),
        ]),
      ),
  },
  capacity: {
    path: '/api/v1/capacity',
    render: (d) =>
      table(
        ['HOST', 'ROLES', 'FRESH', 'CPU', 'MEM AVAILABLE', 'UNRESERVED', 'DISK FREE', 'INSTANCES/SLOTS', 'FREE SLOTS'],
        list(d, 'hosts').map((h) => {
          const cpu = (h.cpu ?? {}) as Json;
          const mem = (h.memory ?? {}) as Json;
          const inst = (h.instances ?? {}) as Json;
          return [
            str(h.id),
            str((h.roles as string[] | undefined)?.join(',')),
            h.fresh ? 'fresh' : 'STALE',
            `${str(cpu.cores)} (${Number(cpu.usagePercent ?? 0).toFixed(0)}%)`,
            bytes(Number(mem.availableBytes ?? -1)),
            bytes(Number(mem.unreservedBytes ?? -1)),
            bytes(Number(((h.disk ?? {}) as Json).freeBytes ?? -1)),
            `${str(inst.running)}/${str(inst.slots)}`,
            str(inst.freeSlots),
          ];
        }),
      ),
  },
  placements: {
    path: '/api/v1/placements',
    render: (d) =>
      table(['REQUEST', 'ROLE', 'COUNT', 'MEMORY MB', 'STATE', 'HOLD UNTIL', 'HOSTS'], list(d, 'placements').map(placementRow)),
  },
  audit: {
    path: '/api/v1/audit',
    render: (d) =>
      table(
        ['TIME', 'TOKEN', 'ROLE', 'METHOD', 'ROUTE', 'TARGET', 'STATUS', 'FROM'],
        list(d, 'entries').map((e) => [
          str(e.at),
          str(e.token),
          str(e.role),
          str(e.method),
          str(e.route),
          str(e.target),
          str(e.status),
          str(e.remote),
        ]),
      ),
  },
  whoami: { path: '/api/v1/whoami', render: (d) => `${str(d.name)} (${str(d.role)})` },
  rules: {
    path: '/api/v1/rules',
    render: (d) =>
      table(
        ['RULE', 'KIND', 'SEVERITY', 'STATE'],
        list(d, 'rules').map((r) => [
          str(r.name),
          str(r.kind),
          str(r.severity ?? (r.labels as Json | undefined)?.severity),
          str(r.state ?? r.health),
        ]),
      ),
  },
};

const CAPACITY_LABELS = ['env', 'city', 'idc', 'module', 'storage'];

function placementRow(p: Json): string[] {
  const hosts = [...new Set(((p.members ?? []) as Json[]).map((m) => str(m.host)))].join(',');
  return [str(p.requestId), str(p.role), str(p.count), str(p.memoryMb), str(p.state), str(p.holdUntil), hosts];
}

function placementText(p: Json): string {
  const head = `placement ${str(p.requestId)}: ${str(p.state)}${p.holdUntil ? ` (held until ${str(p.holdUntil)})` : ''}`;
  const members = ((p.members ?? []) as Json[]).map(
    (m) =>
      `  member ${str(m.member)}${m.group !== undefined ? ` group ${str(m.group)}` : ''} → ${str(m.host)} (${m.idleInstance ? `idle instance ${str(m.idleInstance)}` : 'new instance'}, ${str(m.reservedMemoryMb)} MB)`,
  );
  return [head, ...members].join('\n');
}

export const COLLECTOR_USAGE = `redis-fleet collector [--url URL] [--token-file FILE] [--json] <command>
  hosts | instances | proxies | codis | persistence | guard | failovers | alerts | silences | rules | whoami
  capacity [--host H] [--role R] [--fresh] [label=value ...]      (labels: ${CAPACITY_LABELS.join(', ')})
  placements [list] | placements show|confirm|release <request-id>
  placements place <request-id> --role redis|proxy|dashboard --count N --memory-mb MB
      [--label k=v ...] [--spread-by LABEL] [--anti-affinity none|group] [--group-size N] [--strategy NAME]
  audit [--limit N] [--name TOKEN-NAME]                            (admin)
  ack <alert-id> [--comment TEXT] [--by NAME]                      (operator)
  silence add <name=value|name=~regex>... [--duration 2h] [--comment TEXT] [--by NAME]   (operator)
  silence expire <silence-id>                                      (operator)
  rules reload                                                     (admin)
The token: --token-file FILE, or $REDIS_FLEET_TOKEN.`;

/** Options of `redis-fleet collector`, and which subcommand takes which. */
export const COLLECTOR_OPTIONS = {
  url: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  by: { type: 'string' },
  comment: { type: 'string' },
  duration: { type: 'string' },
  host: { type: 'string' },
  role: { type: 'string' },
  fresh: { type: 'boolean' },
  count: { type: 'string' },
  'memory-mb': { type: 'string' },
  label: { type: 'string', multiple: true },
  'spread-by': { type: 'string' },
  'anti-affinity': { type: 'string' },
  'group-size': { type: 'string' },
  strategy: { type: 'string' },
  limit: { type: 'string' },
  name: { type: 'string' },
} as const;
const COMMON = ['url', 'token-file', 'json', 'help', 'version'];
const SUB_OPTIONS: Record<string, string[]> = {
  ack: ['by', 'comment'],
  silence: ['by', 'comment', 'duration'],
  capacity: ['host', 'role', 'fresh'],
  audit: ['limit', 'name'],
  placements: ['role', 'count', 'memory-mb', 'label', 'spread-by', 'anti-affinity', 'group-size', 'strategy'],
};

export type CollectorValues = Partial<Record<keyof typeof COLLECTOR_OPTIONS, string | boolean | string[]>>;

const usageError = (msg: string) => new ApiError(-1, `${msg}\n${COLLECTOR_USAGE}`);

function intOption(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw usageError(`--${name} must be a whole number (got ${JSON.stringify(v)})`);
  return Number(v);
}

function pairs(items: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const it of items) {
    const m = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.+)$/.exec(it);
    if (!m) throw usageError(`${what} must be key=value (got ${JSON.stringify(it)})`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

function parseDurationMs(v: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(v);
  if (!m) throw new ApiError(-1, `--duration must be like 30m, 2h or 1d (got ${JSON.stringify(v)})`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

async function placements(c: CollectorCli, rest: string[], v: CollectorValues): Promise<string> {
  const [action = 'list', id] = rest;
  const out = (d: Json) => (c.json ? JSON.stringify(d, null, 2) : placementText(d));
  if (action === 'list' && rest.length <= 1) {
    const d = await call(c, 'GET', '/api/v1/placements');
    return c.json ? JSON.stringify(d, null, 2) : VIEWS.placements!.render(d);
  }
  if (!id || rest.length !== 2) throw usageError(`placements ${action} needs exactly one request id`);
  const path = `/api/v1/placements/${encodeURIComponent(id)}`;
  if (action === 'show') return out(await call(c, 'GET', path));
  if (action === 'confirm' || action === 'release') return out(await call(c, 'POST', `${path}/${action}`));
  if (action !== 'place') throw usageError(`unknown placements action ${JSON.stringify(action)}`);
  for (const k of ['role', 'count', 'memory-mb'] as const) if (v[k] === undefined) throw usageError(`placements place needs --${k}`);
  const body: Json = {
    requestId: id,
    role: v.role,
    count: intOption(v.count, 'count'),
    memoryMb: intOption(v['memory-mb'], 'memory-mb'),
    labels: v.label ? pairs(v.label as string[], '--label') : undefined,
    spreadBy: v['spread-by'],
    antiAffinity: v['anti-affinity'],
    groupSize: intOption(v['group-size'], 'group-size'),
    strategy: v.strategy,
  };
  return out(await call(c, 'POST', '/api/v1/placements', Object.fromEntries(Object.entries(body).filter(([, x]) => x !== undefined))));
}

export async function collectorCommand(c: CollectorCli, args: string[], v: CollectorValues = {}): Promise<string> {
  const [cmd, ...rest] = args;
  if (!cmd) throw usageError('a command is needed');
  const given = Object.keys(v).filter((k) => !COMMON.includes(k));
  const allowed = SUB_OPTIONS[cmd] ?? [];
  const stray = given.find((k) => !allowed.includes(k));
  if (stray) throw usageError(`--${stray} is not an option of collector ${cmd}`);
  if (cmd === 'placements') return placements(c, rest, v);
  if (cmd === 'rules' && rest[0] === 'reload' && rest.length === 1) {
    const d = await call(c, 'POST', '/api/v1/rules/reload');
    return c.json ? JSON.stringify(d) : `rules reloaded: ${str(d.rules)}`;
  }
  const view = VIEWS[cmd];
  if (view) {
    const q = new URLSearchParams();
    if (cmd === 'capacity') {
      for (const [k, x] of Object.entries({
        ...pairs(rest, 'a capacity filter'),
        host: v.host,
        role: v.role,
        fresh: v.fresh ? 'true' : undefined,
      }))
        if (x !== undefined) q.set(k, String(x));
    } else if (cmd === 'audit') {
      if (v.limit !== undefined) q.set('limit', String(intOption(v.limit, 'limit')));
      if (v.name !== undefined) q.set('token', String(v.name));
    } else if (rest.length) {
      throw usageError(`collector ${cmd} takes no argument (got ${JSON.stringify(rest.join(' '))})`);
    }
    const d = await call(c, 'GET', view.path + (q.size ? `?${q}` : ''));
    return c.json ? JSON.stringify(d, null, 2) : view.render(d);
  }
  const by = (v.by as string | undefined) ?? process.env.USER ?? 'redis-fleet-cli';
  const comment = (v.comment as string | undefined) ?? '';
  if (cmd === 'ack' && rest[0]) {
    const d = await call(c, 'POST', `/api/v1/alerts/${encodeURIComponent(rest[0])}/ack`, { by, comment });
    return c.json ? JSON.stringify(d) : `acknowledged ${rest[0]}`;
  }
  if (cmd === 'silence' && rest[0] === 'add') {
    const duration = (v.duration as string | undefined) ?? '1h';
    const matchers = rest.slice(1).map((m) => {
      const r = /^([A-Za-z_][A-Za-z0-9_]*)(=~|=)(.*)$/.exec(m);
      if (!r) throw new ApiError(-1, `matcher must be name=value or name=~regex (got ${JSON.stringify(m)})`);
      return { name: r[1], value: r[3], isRegex: r[2] === '=~' };
    });
    if (!matchers.length) throw new ApiError(-1, 'silence add needs at least one matcher');
    const now = Date.now();
    const d = await call(c, 'POST', '/api/v1/silences', {
      matchers,
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + parseDurationMs(duration)).toISOString(),
      createdBy: by,
      comment,
    });
    return c.json
      ? JSON.stringify(d)
      : `silence ${str(d.silenceID ?? d.id)} until ${new Date(now + parseDurationMs(duration)).toISOString()}`;
  }
  if (cmd === 'silence' && rest[0] === 'expire' && rest[1]) {
    const d = await call(c, 'DELETE', `/api/v1/silences/${encodeURIComponent(rest[1])}`);
    return c.json ? JSON.stringify(d) : `expired silence ${rest[1]}`;
  }
  throw usageError(`unknown collector command ${JSON.stringify(args.join(' '))}`);
}
