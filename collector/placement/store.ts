// Placements in the collector's SQLite file (same connection as the fleet state), so a restart
// keeps both the holds and the answers idempotent replay returns. Members are stored by host id:
// table rows are renumbered on every start.
import type { Database, Statement } from '../sqlite.js';
import type { ReservationState } from './holds.js';

const DDL = `
CREATE TABLE IF NOT EXISTS placements (
  request_id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  placement TEXT NOT NULL,
  state TEXT NOT NULL,
  holding INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  hold_until INTEGER NOT NULL,
  members TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS placements_created ON placements(created_at);
`;

export interface StoredMember {
  hostId: string;
  memoryBytes: number;
  slot: number;
  idleAddress: string | null;
}

export interface PlacementRow {
  requestId: string;
  fingerprint: string;
  placement: Record<string, unknown>;
  state: ReservationState;
  holding: boolean;
  createdAt: number;
  holdUntil: number;
  members: StoredMember[];
}

interface RawRow {
  request_id: string;
  fingerprint: string;
  placement: string;
  state: string;
  holding: number;
  created_at: number;
  hold_until: number;
  members: string;
}

export class SqlitePlacementStore {
  private readonly upsert: Statement;
  private readonly remove: Statement;
  private readonly all: Statement<RawRow>;

  constructor(db: Database) {
    db.exec(DDL);
    this.upsert = db.prepare(`INSERT OR REPLACE INTO placements
      (request_id, fingerprint, placement, state, holding, created_at, hold_until, members) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.remove = db.prepare('DELETE FROM placements WHERE request_id = ?');
    this.all = db.prepare<RawRow>('SELECT * FROM placements ORDER BY created_at, rowid');
  }

  save(r: PlacementRow): void {
    this.upsert.run(
      r.requestId,
      r.fingerprint,
      JSON.stringify(r.placement),
      r.state,
      r.holding ? 1 : 0,
      r.createdAt,
      r.holdUntil,
      JSON.stringify(r.members),
    );
  }

  delete(requestId: string): void {
    this.remove.run(requestId);
  }

  /** Oldest first. */
  load(): PlacementRow[] {
    return this.all.all().map((r) => ({
      requestId: r.request_id,
      fingerprint: r.fingerprint,
      placement: JSON.parse(r.placement) as Record<string, unknown>,
      state: r.state as ReservationState,
      holding: r.holding === 1,
      createdAt: r.created_at,
      holdUntil: r.hold_until,
      members: JSON.parse(r.members) as StoredMember[],
    }));
  }
}

/** What a placement decision reads and writes while it holds the cluster-wide placement lock. */
export interface PlacementTx {
  /** Every placement still holding capacity. */
  holding(): Promise<PlacementRow[]>;
  get(requestIds: string[]): Promise<PlacementRow[]>;
  save(r: PlacementRow): Promise<void>;
}

/**
 * Placements and their reservations shared by the collectors of a cluster (PostgreSQL:
 * store-pg.ts). `exclusive` runs one decision at a time across every collector — a database
 * transaction holding a row lock, never a lock in one process's memory — so two collectors
 * cannot both hand out the same capacity.
 */
export interface PlacementStore {
  readonly kind: 'sqlite' | 'postgres';
  load(): Promise<PlacementRow[]>;
  delete(requestId: string): Promise<void>;
  exclusive<T>(fn: (tx: PlacementTx) => Promise<T>): Promise<T>;
  /** Ends the holds whose time is up (reserved → expired; confirmed stays confirmed); returns the changed rows. */
  expire(now: number): Promise<PlacementRow[]>;
}
