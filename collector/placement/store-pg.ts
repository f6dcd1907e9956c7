// Placements on the cluster's PostgreSQL (collector/pg.ts). Every decision runs in one
// transaction that first locks the single placement_lock row (SELECT … FOR UPDATE): decisions
// from different collectors queue there, and each one sees every reservation committed before it.
import type { PgClient, PgPool } from '../pg.js';
import { withTransaction } from '../pg.js';
import type { ReservationState } from './holds.js';
import type { PlacementRow, PlacementStore, PlacementTx, StoredMember } from './store.js';

interface Raw {
  request_id: string;
  fingerprint: string;
  placement: string;
  state: string;
  holding: boolean;
  created_at: number;
  hold_until: number;
  members: string;
}

const rowOf = (r: Raw): PlacementRow => ({
  requestId: r.request_id,
  fingerprint: r.fingerprint,
  placement: JSON.parse(r.placement) as Record<string, unknown>,
  state: r.state as ReservationState,
  holding: r.holding,
  createdAt: r.created_at,
  holdUntil: r.hold_until,
  members: JSON.parse(r.members) as StoredMember[],
});

const COLUMNS = 'request_id, fingerprint, placement, state, holding, created_at, hold_until, members';

async function save(c: PgClient | PgPool, r: PlacementRow): Promise<void> {
  await c.query(
    `INSERT INTO placements (${COLUMNS}, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nextval('rf_version'))
    ON CONFLICT (request_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, placement = EXCLUDED.placement, state = EXCLUDED.state,
      holding = EXCLUDED.holding, hold_until = EXCLUDED.hold_until, members = EXCLUDED.members, version = EXCLUDED.version`,
    [r.requestId, r.fingerprint, JSON.stringify(r.placement), r.state, r.holding, r.createdAt, r.holdUntil, JSON.stringify(r.members)],
  );
}

export class PgPlacementStore implements PlacementStore {
  readonly kind = 'postgres';

  constructor(private readonly pool: PgPool) {}

  async load(): Promise<PlacementRow[]> {
    return (await this.pool.query<Raw>(`SELECT ${COLUMNS} FROM placements ORDER BY created_at, request_id`)).rows.map(rowOf);
  }

  async delete(requestId: string): Promise<void> {
    await this.pool.query('DELETE FROM placements WHERE request_id = $1', [requestId]);
  }

  exclusive<T>(fn: (tx: PlacementTx) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, async (c) => {
      await c.query('SELECT id FROM placement_lock WHERE id = 1 FOR UPDATE');
      return fn({
        holding: async () => (await c.query<Raw>(`SELECT ${COLUMNS} FROM placements WHERE holding`)).rows.map(rowOf),
        get: async (ids) =>
          ids.length
            ? (await c.query<Raw>(`SELECT ${COLUMNS} FROM placements WHERE request_id = ANY($1::text[])`, [ids])).rows.map(rowOf)
            : [],
        save: (r) => save(c, r),
      });
    });
  }

  expire(now: number): Promise<PlacementRow[]> {
    return withTransaction(this.pool, async (c) => {
      await c.query('SELECT id FROM placement_lock WHERE id = 1 FOR UPDATE');
      const r = await c.query<Raw>(
        `UPDATE placements SET holding = false, version = nextval('rf_version'),
          state = CASE WHEN state = 'reserved' THEN 'expired' ELSE state END
        WHERE holding AND hold_until <= $1 RETURNING ${COLUMNS}`,
        [now],
      );
      return r.rows.map(rowOf);
    });
  }
}
