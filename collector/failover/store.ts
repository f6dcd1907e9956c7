// The failover log in the collector's SQLite file: one row per failover, updated as more agents
// report it; kept for `retentionMs`.
import type { Database, Statement } from '../sqlite.js';
import type { Failover } from './fold.js';

const DDL = `
CREATE TABLE IF NOT EXISTS failovers (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  cluster TEXT NOT NULL,
  grp TEXT NOT NULL,
  master_name TEXT NOT NULL,
  old_master TEXT NOT NULL,
  new_master TEXT NOT NULL,
  source TEXT NOT NULL,
  seen_by TEXT NOT NULL,
  sentinel_at INTEGER,
  role_at INTEGER
);
CREATE INDEX IF NOT EXISTS failovers_at ON failovers(at);
`;

interface Row {
  id: number;
  at: number;
  cluster: string;
  grp: string;
  master_name: string;
  old_master: string;
  new_master: string;
  source: string;
  seen_by: string;
  sentinel_at: number | null;
  role_at: number | null;
}

const fromRow = (r: Row): Failover => ({
  id: r.id,
  at: r.at,
  cluster: r.cluster,
  group: r.grp,
  masterName: r.master_name,
  oldMaster: r.old_master,
  newMaster: r.new_master,
  source: r.source === 'role' ? 'role' : 'sentinel',
  seenBy: JSON.parse(r.seen_by) as string[],
  sentinelAt: r.sentinel_at,
  roleAt: r.role_at,
});

export class FailoverStore {
  private readonly insert: Statement;
  private readonly update: Statement;
  private readonly prune: Statement;

  constructor(
    private readonly db: Database,
    private readonly retentionMs = 30 * 86_400_000,
  ) {
    db.exec(DDL);
    this.insert =
      db.prepare(`INSERT INTO failovers (at, cluster, grp, master_name, old_master, new_master, source, seen_by, sentinel_at, role_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.update = db.prepare(
      `UPDATE failovers SET at = ?, cluster = ?, grp = ?, master_name = ?, old_master = ?, seen_by = ?, sentinel_at = ?, role_at = ? WHERE id = ?`,
    );
    this.prune = db.prepare('DELETE FROM failovers WHERE at < ?');
  }

  add(f: Failover): void {
    const r = this.insert.run(
      f.at,
      f.cluster,
      f.group,
      f.masterName,
      f.oldMaster,
      f.newMaster,
      f.source,
      JSON.stringify(f.seenBy),
      f.sentinelAt,
      f.roleAt,
    );
    f.id = Number(r.lastInsertRowid);
  }

  save(f: Failover): void {
    this.update.run(f.at, f.cluster, f.group, f.masterName, f.oldMaster, JSON.stringify(f.seenBy), f.sentinelAt, f.roleAt, f.id);
  }

  /** Newest first; `since` in ms. */
  list(q: { since?: number; cluster?: string; limit?: number } = {}): Failover[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.since !== undefined) {
      where.push('at >= ?');
      args.push(q.since);
    }
    if (q.cluster !== undefined) {
      where.push('cluster = ?');
      args.push(q.cluster);
    }
    args.push(q.limit ?? 100);
    return this.db
      .prepare<Row>(`SELECT * FROM failovers ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?`)
      .all(...args)
      .map(fromRow);
  }

  pruneOld(now = Date.now()): void {
    this.prune.run(now - this.retentionMs);
  }
}
