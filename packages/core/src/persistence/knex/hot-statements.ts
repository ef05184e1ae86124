import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { rawRows, type Database } from '../database.js';

/** How many distinct SQL texts one process names as PostgreSQL prepared statements. */
export const NAMED_STATEMENT_LIMIT = 64;

const names = new Map<string, string>();

type Row = Record<string, unknown>;
interface SqliteStatement {
  all(...params: unknown[]): Row[];
}
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}

/**
 * Runs one of the queue's hot statements (claim, finish, finish-and-claim) and
 * returns its rows, with as little between the caller and the driver as is safe.
 *
 * PostgreSQL: the query carries a name derived from its text, so the pg driver
 * parses and plans it once per connection and afterwards only binds and executes
 * it; a new connection (after a reconnect) prepares it again by itself. The name
 * is a hash of the text, so two texts never share one (pg refuses that). Past
 * `NAMED_STATEMENT_LIMIT` texts (a clause whose SQL changes every claim) the rest
 * run unnamed rather than piling up in every server session.
 *
 * better-sqlite3: the statement runs on the connection knex's pool hands out (the
 * transaction's own when `tx` is given, so it sees and joins that transaction),
 * through the connection's prepared-statement cache, without knex's query
 * building and response handling. The call is synchronous between acquire and
 * release, so nothing else runs on the connection meanwhile; when the pool's one
 * connection is idle (nobody holds or waits for it) the statement runs on it
 * directly, which is just as exclusive and skips the pool's bookkeeping.
 */
export async function runHot(db: Database, tx: Knex.Transaction | undefined, sql: string, bindings: readonly unknown[]): Promise<Row[]> {
  const runner = tx ?? db.knex;
  if (db.driver === 'better-sqlite3') {
    // knex refuses a query on a finished transaction; so does this (its connection would run it outside).
    if (tx?.isCompleted()) throw new Error('Transaction query already complete, run with DEBUG=knex:tx for more info');
    // The one connection is idle: run on it at once, without a trip through the pool.
    const idle = tx ? null : (db.idleSqliteConnection?.() as SqliteConnection | null);
    if (idle) return idle.prepare(sql).all(...bindings.map(sqliteValue));
    const client = runner.client as { acquireConnection(): Promise<SqliteConnection>; releaseConnection(c: SqliteConnection): Promise<unknown> };
    const conn = await client.acquireConnection();
    try {
      return conn.prepare(sql).all(...bindings.map(sqliteValue));
    } finally {
      await client.releaseConnection(conn);
    }
  }
  const query = runner.raw(sql, bindings as never);
  const name = db.dialect === 'pg' ? statementName(sql) : null;
  return rawRows(db, await (name ? query.options({ name }) : query));
}

const sqliteValue = (v: unknown): unknown => (typeof v === 'boolean' ? (v ? 1 : 0) : v instanceof Date ? v.getTime() : v);

function statementName(sql: string): string | null {
  let name = names.get(sql);
  if (name) return name;
  if (names.size >= NAMED_STATEMENT_LIMIT) return null;
  name = `conveyor_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
  names.set(sql, name);
  return name;
}
