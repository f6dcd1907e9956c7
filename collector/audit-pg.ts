// The API audit log on the cluster's PostgreSQL, so every collector's entries are in one place
// (the same AuditStore as the embedded SqliteAuditStore, collector/access/audit.ts).
import type { AuditEntry, AuditLimits, AuditQuery, AuditStore } from './access/index.js';
import type { PgPool } from './pg.js';

export class PgAuditStore implements AuditStore {
  constructor(
    private readonly pool: PgPool,
    private readonly limits: AuditLimits,
  ) {}

  async append(e: AuditEntry): Promise<void> {
    await this.pool.query(
      'INSERT INTO audit_log (at, token, role, method, route, target, status, remote) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [e.at, e.token, e.role, e.method, e.route, e.target, e.status, e.remote],
    );
    await this.prune(e.at);
  }

  async list(q: AuditQuery): Promise<(AuditEntry & { id: number })[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.token !== undefined) {
      args.push(q.token);
      where.push(`token = $${args.length}`);
    }
    if (q.since !== undefined) {
      args.push(q.since);
      where.push(`at >= $${args.length}`);
    }
    args.push(q.limit);
    const sql = `SELECT id, at, token, role, method, route, target, status, remote FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`;
    return (await this.pool.query<AuditEntry & { id: number }>(sql, args)).rows;
  }

  async prune(now: number): Promise<number> {
    const byAge = await this.pool.query('DELETE FROM audit_log WHERE at < $1', [now - this.limits.retentionMs]);
    const byCount = await this.pool.query('DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log) - $1', [
      this.limits.maxEntries,
    ]);
    return (byAge.rowCount ?? 0) + (byCount.rowCount ?? 0);
  }
}
