import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { ConveyorError } from '../errors.js';
import { createPrivateFile, PRIVATE_DIR_MODE } from '../util/private-paths.js';

export type Dialect = 'sqlite' | 'pg';
export type SqliteDriver = 'better-sqlite3' | 'sqlite3';

export interface DatabaseConfig {
  /** `sqlite` (embedded default) or `pg`. */
  client: Dialect;
  /** SQLite driver under knex. */
  sqliteDriver?: SqliteDriver;
  /** SQLite file; `:memory:` is refused (WAL and several connections need a file). */
  filename?: string;
  /** PostgreSQL connection string. */
  url?: string;
  /** PostgreSQL schema to use (tests isolate themselves in one). */
  schema?: string;
  /** SQLite `busy_timeout` in ms. */
  busyTimeoutMs?: number;
  pool?: { min?: number; max?: number };
}

/** A knex handle plus what the SQL builders need to know about it. */
export interface Database {
  readonly knex: Knex;
  readonly dialect: Dialect;
  readonly driver: SqliteDriver | 'pg';
  close(): Promise<void>;
  /**
   * better-sqlite3 only: the pool's one connection when nobody holds it (no query,
   * no transaction, no acquire waiting), else null. A synchronous statement run on
   * it right away cannot interleave with anything else on the connection.
   */
  idleSqliteConnection?(): unknown;
}

type SqliteRawConnection = {
  pragma?: (sql: string) => unknown;
  exec?: (sql: string, cb?: (err: Error | null) => void) => unknown;
  prepare?: (sql: string) => unknown;
};

/** How many distinct SQL texts one better-sqlite3 connection keeps prepared. */
export const STATEMENT_CACHE_SIZE = 256;

/**
 * knex's better-sqlite3 dialect prepares every statement again on each call (a
 * seventh of the host's CPU under webhook load). The connection's `prepare` is
 * wrapped so that the same SQL text gets the same prepared statement, least
 * recently used evicted first. Safe because knex runs a statement to completion
 * (`all`/`run`) before the next one on the connection, never sets a statement's
 * integer mode unless a query asks (Conveyor's never do), and SQLite re-compiles a
 * prepared statement by itself after a schema change.
 */
export function cachePreparedStatements(conn: SqliteRawConnection, size = STATEMENT_CACHE_SIZE): void {
  const prepare = conn.prepare!.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement) {
      cache.delete(sql);
    } else {
      statement = prepare(sql);
      if (cache.size >= size) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, statement);
    return statement;
  };
}

function sqlitePragmas(busyTimeoutMs: number): string[] {
  return [
    'PRAGMA journal_mode = WAL',
    `PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`,
    'PRAGMA foreign_keys = ON',
    'PRAGMA synchronous = NORMAL',
  ];
}

/**
 * knex prints a failed connection with its stack, and a failed migration lock with
 * advice to run `knex migrate:unlock` (a tool Conveyor's users do not have); the
 * errors Conveyor throws already say what happened in one line.
 */
const KNEX_LOG = {
  warn: (message: string): void => {
    if (!/^(Acquire connection error|Can't take lock to run migrations|If you are sure migrations are not running)/.test(message)) console.warn(message);
  },
};

const requireFromCore = createRequire(import.meta.url);

/**
 * The database drivers are optional peer dependencies of core: an embedder installs
 * only the one it uses. A missing one is named with the command that installs it,
 * rather than surfacing as knex's "Cannot find module" with a stack.
 */
export function assertDriverInstalled(driver: SqliteDriver | 'pg', key: string): void {
  try {
    requireFromCore.resolve(driver);
  } catch (err) {
    throw new ConveyorError('CONVEYOR_DATABASE_DRIVER', `${key} needs the package "${driver}", which is not installed: npm install ${driver}`, { cause: err });
  }
}

/** The files SQLite keeps for one database: the file, its WAL, shared memory and rollback journal. */
export function sqliteFiles(filename: string): string[] {
  return [filename, `${filename}-wal`, `${filename}-shm`, `${filename}-journal`];
}

/**
 * Opens the database. SQLite gets WAL, busy_timeout and foreign keys on every
 * connection; a new SQLite file is created 0600 (in a directory created 0700), so
 * no other local user can read the tasks, prompts and costs in it.
 */
export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.client === 'pg') return openPostgres(config);
  return openSqlite(config);
}

async function openSqlite(config: DatabaseConfig): Promise<Database> {
  const driver: SqliteDriver = config.sqliteDriver ?? 'better-sqlite3';
  const filename = config.filename ?? '.conveyor/conveyor.db';
  if (filename === ':memory:') {
    throw new ConveyorError('CONVEYOR_DATABASE', 'database.filename ":memory:" is not supported: use a file (the test kit makes a throwaway one)');
  }
  assertDriverInstalled(driver, config.sqliteDriver ? `database.sqliteDriver "${driver}"` : 'database.client "sqlite"');
  const file = path.resolve(filename);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (err) {
    throw new ConveyorError('CONVEYOR_DATABASE', `cannot create the database's directory ${path.dirname(file)}: ${(err as Error).message}`, { cause: err });
  }
  // SQLite opens a read-only file read-only without a word, and the first write then
  // fails deep inside the migration lock; say which path is not writable instead.
  // This runs before the private file is created, so a read-only directory is named
  // here rather than surfacing as createPrivateFile's EACCES.
  for (const p of [path.dirname(file), ...(fs.existsSync(file) ? [file] : [])]) {
    try {
      fs.accessSync(p, fs.constants.W_OK);
    } catch (err) {
      throw new ConveyorError('CONVEYOR_DATABASE', `cannot open the SQLite database ${file}: ${p} is not writable by this user (${(err as NodeJS.ErrnoException).code}); SQLite writes the file and its journal beside it`, { cause: err });
    }
  }
  try {
    createPrivateFile(file);
  } catch (err) {
    throw new ConveyorError('CONVEYOR_DATABASE', `cannot open the SQLite database ${file}: ${(err as Error).message}`, { cause: err });
  }
  const pragmas = sqlitePragmas(config.busyTimeoutMs ?? 5000);
  let current: (SqliteRawConnection & { open?: boolean }) | null = null;
  const knex = knexFactory({
    client: driver,
    connection: { filename },
    useNullAsDefault: true,
    log: KNEX_LOG,
    pool: {
      min: 1,
      max: 1,
      afterCreate: (conn: SqliteRawConnection, done: (err: Error | null, conn: unknown) => void) => {
        try {
          if (driver === 'better-sqlite3') {
            for (const p of pragmas) conn.pragma!(p.replace(/^PRAGMA /, ''));
            cachePreparedStatements(conn);
            current = conn;
            done(null, conn);
          } else {
            conn.exec!(pragmas.join(';'), (err) => done(err, conn));
          }
        } catch (err) {
          done(err as Error, conn);
        }
      },
    },
  });
  try {
    await knex.raw('select 1');
  } catch (err) {
    await knex.destroy();
    // A read-only file or directory is the usual cause (SQLite writes its WAL and journal beside the file).
    throw new ConveyorError('CONVEYOR_DATABASE', `cannot open the SQLite database ${file}: ${(err as Error).message}; the file and its directory must be writable by this user`, { cause: err });
  }
  const pool = (knex.client as { pool?: { numUsed(): number; numPendingAcquires(): number; numPendingCreates(): number } }).pool;
  const idleSqliteConnection = (): unknown =>
    driver === 'better-sqlite3' && current?.open && pool && pool.numUsed() === 0 && pool.numPendingAcquires() === 0 && pool.numPendingCreates() === 0 ? current : null;
  return { knex, dialect: 'sqlite', driver, close: () => knex.destroy(), idleSqliteConnection };
}

async function openPostgres(config: DatabaseConfig): Promise<Database> {
  if (!config.url) {
    throw new ConveyorError('CONVEYOR_DATABASE', 'database.url is required when database.client is "pg" (set CONVEYOR_DATABASE_URL)');
  }
  assertDriverInstalled('pg', 'database.client "pg"');
  const schema = config.schema;
  const knex = knexFactory({
    client: 'pg',
    connection: { connectionString: config.url },
    log: KNEX_LOG,
    pool: {
      min: config.pool?.min ?? 0,
      max: config.pool?.max ?? 10,
      afterCreate: (conn: { query: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) => {
        if (!schema) return done(null, conn);
        conn.query(`SET search_path TO "${schema.replace(/"/g, '""')}"`, (err) => done(err, conn));
      },
    },
    ...(schema ? { searchPath: [schema] } : {}),
  });
  try {
    if (schema) await knex.raw(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '""')}"`);
    await knex.raw('select 1');
  } catch (err) {
    await knex.destroy();
    throw new ConveyorError('CONVEYOR_DATABASE', `cannot reach PostgreSQL at ${redactUrl(config.url)}: ${(err as Error).message}`, { cause: err });
  }
  return { knex, dialect: 'pg', driver: 'pg', close: () => knex.destroy() };
}

/** Hides the password of a connection string. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}

/** Rows of a `knex.raw` result, whatever the driver. */
export function rawRows<T = Record<string, unknown>>(db: Database, result: unknown): T[] {
  if (db.dialect === 'pg') return ((result as { rows?: T[] }).rows ?? []) as T[];
  return (Array.isArray(result) ? result : []) as T[];
}

/** True when the error is a unique-constraint violation on either database. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string };
  if (e?.code === '23505') return true;
  if (e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
  if (e?.code === 'SQLITE_CONSTRAINT' && /UNIQUE/i.test(e.message ?? '')) return true;
  return false;
}
