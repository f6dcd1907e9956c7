// `redis-fleet status`: this host, from the agent's status file.
import { readStatusFile, type AgentStatus } from '../agent/index.js';
import { ago, bytes, table } from './table.js';

export function formatStatus(s: AgentStatus, now = Date.now()): string {
  const stale = now - Date.parse(s.updatedAt) > Math.max(3 * s.intervalMs, 30_000);
  const lines = [
    `host ${s.hostId}  agent ${s.version} (pid ${s.pid})  roles ${s.roles.join(',')}  updated ${ago(s.updatedAt, now)}${stale ? '  STALE: the agent has not ticked for a while' : ''}`,
    `collector ${s.collector.connected ? 'connected' : 'NOT CONNECTED'} (${s.collector.addresses.join(', ')})  last report seq ${s.collector.lastSeq} at ${ago(s.collector.lastReportAt, now)}  buffered ${s.collector.bufferedReports}  dropped ${s.collector.droppedReports}`,
  ];
  if (!s.collector.connected && s.collector.lastError) lines.push(`collector error: ${s.collector.lastError}`);
  const errs = Object.entries(s.inputErrors);
  if (errs.length) lines.push(`input errors: ${errs.map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  lines.push('', `instances (${s.instances.length})`);
  if (s.instances.length) {
    lines.push(
      table(
        ['ADDRESS', 'UP', 'ROLE', 'USED', 'MAXMEMORY', 'CLUSTER', 'NOTE'],
        s.instances.map((i) => [
          i.address,
          i.up ? 'up' : 'DOWN',
          i.role,
          bytes(i.usedMemoryBytes),
          i.maxmemoryBytes > 0 ? bytes(i.maxmemoryBytes) : 'none',
          i.cluster,
          i.up ? (i.unavailable.length ? `unavailable: ${i.unavailable.join(',')}` : '') : i.error,
        ]),
      ),
    );
  }
  if (s.proxies.length) {
    lines.push('', `proxies (${s.proxies.length})`);
    lines.push(
      table(
        ['KIND', 'ADDRESS', 'NAME', 'UP', 'ERROR'],
        s.proxies.map((p) => [p.kind, p.address, p.name, p.up ? 'up' : 'DOWN', p.error]),
      ),
    );
  }
  if (s.persistence) {
    lines.push(
      '',
      `persistence: fork token ${s.persistence.tokenHolder || 'free'}; queue ${s.persistence.queue.length ? s.persistence.queue.join(', ') : 'empty'}`,
    );
  }
  if (s.guard) {
    const g = s.guard;
    lines.push(
      '',
      `guard: ZooKeeper ${g.zkState}${g.zkConsecutiveFailures ? ` (${g.zkConsecutiveFailures} probes failed)` : ''}; Sentinels answered ${g.sentinelsAnswered ?? '-'}/${g.sentinelsTotal ?? '-'}`,
    );
    if (g.instances.length) {
      lines.push(
        table(
          ['ADDRESS', 'PHASE', 'FENCED SINCE', 'MODE', 'WHY / WAITING FOR'],
          g.instances.map((i) => [
            i.address,
            i.fenced ? i.phase.toUpperCase() : i.phase,
            i.fencedSince ? ago(i.fencedSince, now) : '',
            i.fenceMode,
            [i.fenced ? i.fenceReason : '', i.waitingFor, i.error].filter(Boolean).join(' | '),
          ]),
        ),
      );
    }
  }
  return lines.join('\n');
}

export function statusCommand(file: string, json: boolean): { out: string; code: number } {
  let s: AgentStatus;
  try {
    s = readStatusFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'not found: is the agent running, and is statusFile set to this path?' : e.message;
    return { out: `redis-fleet: cannot read the agent status file ${file}: ${why}`, code: 69 };
  }
  return { out: json ? JSON.stringify(s, null, 2) : formatStatus(s), code: 0 };
}
