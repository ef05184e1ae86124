import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { cachePreparedStatements, openDatabase } from '@conveyor/core';

function tempDb(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-stmt-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'c.db');
}

test('the same SQL text is prepared once per connection; the least recently used text is evicted', () => {
  const prepared: string[] = [];
  const conn = { prepare: (sql: string) => (prepared.push(sql), { sql }) };
  cachePreparedStatements(conn, 2);
  const a = conn.prepare('select 1');
  assert.equal(conn.prepare('select 1'), a);
  conn.prepare('select 2');
  conn.prepare('select 1'); // now the most recently used
  conn.prepare('select 3'); // evicts "select 2"
  conn.prepare('select 1');
  conn.prepare('select 2');
  assert.deepEqual(prepared, ['select 1', 'select 2', 'select 3', 'select 2']);
});

test('through knex on better-sqlite3, cached statements see later writes and a column added afterwards', async (t) => {
  const db = await openDatabase({ client: 'sqlite', sqliteDriver: 'better-sqlite3', filename: tempDb(t) });
  t.after(() => db.close());
  await db.knex.schema.createTable('things', (tb) => {
    tb.increments('id');
    tb.string('name');
  });
  const read = () => db.knex('things').select('*').orderBy('id');
  await db.knex('things').insert({ name: 'a' });
  assert.deepEqual(await read(), [{ id: 1, name: 'a' }]);
  await db.knex('things').insert({ name: 'b' });
  assert.deepEqual(await read(), [{ id: 1, name: 'a' }, { id: 2, name: 'b' }]);
  await db.knex.schema.alterTable('things', (tb) => tb.string('colour').defaultTo('red'));
  assert.deepEqual(await read(), [{ id: 1, name: 'a', colour: 'red' }, { id: 2, name: 'b', colour: 'red' }]);
  // A failed statement leaves the cached one usable.
  await assert.rejects(db.knex.raw('insert into things (id, name) values (1, ?)', ['dup']), /UNIQUE/);
  await db.knex.transaction(async (tx) => {
    await tx('things').insert({ name: 'c' });
    assert.equal((await tx('things').select('*').orderBy('id')).length, 3);
  });
  assert.equal((await read()).length, 3);
});
