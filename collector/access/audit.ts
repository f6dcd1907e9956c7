// The audit log: one entry per mutating API call (who, what, when, from where, how it ended),
// bounded by age (http.audit.retention) and count (http.audit.maxEntries). AuditStore is the
// seam for another backend (e.g. PostgreSQL); SqliteAuditStore keeps it in the collector's file.
import type { Database, Statement } from '../sqlite.js';

export interface AuditEntry {
  /** ms since the epoch */
  at: number;
  /** The token's name (its holder), never the token. */
  token: string;
  role: string;
  method: string;
  /** The route pattern, e.g. /api/v1/silences/:id */
  route: string;
  /** What was acted on, in a few words (silence id, alert id, placement request). */
  target: string;
  status: number;
  remote: string;
}

export interface AuditQuery {
  limit: number;
  token?: string;
  since?: number;
}
export interface AuditLimits {
  retentionMs: number;
  maxEntries: number;
}

export interface AuditStore {
  append(e: AuditEntry): Promise<void>;
  /** Newest first. */
  list(q: AuditQuery): Promise<(AuditEntry & { id: number })[]>;
  /** Drops what is past the limits; returns how many entries went. */
  prune(now: number): Promise<number>;
}

const DDL = `
CREATE TABLE IF NOT EXISTS audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  token TEXT NOT NULL,
  role TEXT NOT NULL,
  method TEXT NOT NULL,
  route TEXT NOT NULL,
  target TEXT NOT NULL,
  status INTEGER NOT NULL,
  remote TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
`;

type Row = AuditEntry & { id: number };

export class SqliteAuditStore implements AuditStore {
  private readonly insert: Statement;
  private readonly byAge: Statement;
  private readonly byCount: Statement;

  constructor(
    private readonly db: Database,
    private readonly limits: AuditLimits,
  ) {
    db.exec(DDL);
    this.insert = db.prepare(
      'INSERT INTO audit_log (at, token, role, method, route, target, status, remote) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.byAge = db.prepare('DELETE FROM audit_log WHERE at < ?');
    this.byCount = db.prepare('DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log) - ?');
  }

  async append(e: AuditEntry): Promise<void> {
    this.insert.run(e.at, e.token, e.role, e.method, e.route, e.target, e.status, e.remote);
    await this.prune(e.at);
  }

  async list(q: AuditQuery): Promise<Row[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.token !== undefined) {
      where.push('token = ?');
      args.push(q.token);
    }
    if (q.since !== undefined) {
      where.push('at >= ?');
      args.push(q.since);
    }
    const sql = `SELECT id, at, token, role, method, route, target, status, remote FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return this.db.prepare<Row>(sql).all(...args, q.limit);
  }

  async prune(now: number): Promise<number> {
    return this.byAge.run(now - this.limits.retentionMs).changes + this.byCount.run(this.limits.maxEntries).changes;
  }
}
