// The API audit log on the cluster's PostgreSQL, so every collector's entries are in one place.
// The shape is the apiauth work's AuditStore (collector/access/audit.ts: append / list / prune);
// the types are repeated here until that lands on this branch, then imported from there.
import type { PgPool } from './pg.js';

export interface AuditEntry { at: number; token: string; role: string; method: string; route: string; target: string; status: number; remote: string }
export interface AuditQuery { limit: number; token?: string; since?: number }
export interface AuditLimits { retentionMs: number; maxEntries: number }
export interface AuditStore {
  append(e: AuditEntry): Promise<void>;
  /** Newest first. */
  list(q: AuditQuery): Promise<(AuditEntry & { id: number })[]>;
  /** Drops what is past the limits; returns how many entries went. */
  prune(now: number): Promise<number>;
}

export class PgAuditStore implements AuditStore {
  constructor(private readonly pool: PgPool, private readonly limits: AuditLimits) {}

  async append(e: AuditEntry): Promise<void> {
    await this.pool.query('INSERT INTO audit_log (at, token, role, method, route, target, status, remote) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [e.at, e.token, e.role, e.method, e.route, e.target, e.status, e.remote]);
  }

  async list(q: AuditQuery): Promise<(AuditEntry & { id: number })[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.token !== undefined) { args.push(q.token); where.push(`token = $${args.length}`); }
    if (q.since !== undefined) { args.push(q.since); where.push(`at >= $${args.length}`); }
    args.push(q.limit);
    const sql = `SELECT id, at, token, role, method, route, target, status, remote FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`;
    return (await this.pool.query<AuditEntry & { id: number }>(sql, args)).rows;
  }

  async prune(now: number): Promise<number> {
    const byAge = await this.pool.query('DELETE FROM audit_log WHERE at < $1', [now - this.limits.retentionMs]);
    const byCount = await this.pool.query('DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log) - $1', [this.limits.maxEntries]);
    return (byAge.rowCount ?? 0) + (byCount.rowCount ?? 0);
  }
}
