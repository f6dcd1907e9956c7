// The harness's PostgreSQL: starts on a free port with a password, answers queries, keeps data
// across a restart of the client, and is gone (process and temp dir) after close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { harness, canConnect } from './harness/index.js';

test('PostgreSQL starts on a free loopback port, needs its password, and is cleaned up on close', async (t) => {
  const h = await harness(t);
  const pg = await h.postgres();
  assert.ok(await canConnect(pg.port));
  const [row] = await pg.query<{ v: string; fsync: string }>("SELECT version() AS v, current_setting('fsync') AS fsync");
  assert.match(row!.v, /^PostgreSQL \d+/);
  assert.equal(row!.fsync, 'off');
  await pg.query('CREATE TABLE t (id int primary key, v text)');
  await pg.query('INSERT INTO t VALUES ($1, $2)', [1, 'one']);
  assert.deepEqual(await pg.query('SELECT * FROM t'), [{ id: 1, v: 'one' }]);
  const db = await pg.createDatabase();
  const c = pg.client(db);
  await c.connect();
  assert.equal((await c.query('SELECT current_database() AS d')).rows[0].d, db);
  await c.end();
  // A wrong password is refused.
  const { default: pgmod } = await import('pg');
  const bad = new pgmod.Client({ host: pg.host, port: pg.port, user: pg.user, password: 'wrong', database: pg.database });
  await assert.rejects(bad.connect(), /password authentication failed/);
  await bad.end().catch(() => undefined);
  const { dir, port } = pg;
  await h.close();
  assert.equal(fs.existsSync(dir), false, 'temp dir removed');
  assert.equal(await canConnect(port), false, 'server stopped');
});
