// Benchmarks of the product's SQLite paths under one knex driver, using the real
// core code (openDatabase, runMigrations, KnexTaskStore, KnexJobStore,
// buildClaimSql). Every benchmark gets a fresh database file; setup rows are
// bulk-inserted (multi-row VALUES in chunks, inside one transaction) and are not
// timed. Only the store calls under test are inside the timed window.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  openDatabase,
  runMigrations,
  coreMigrations,
  KnexTaskStore,
  KnexJobStore,
  buildClaimSql,
  rawRows,
  silentLogger,
} from '../../packages/core/dist/src/index.js';

export const DRIVERS = /** @type {const} */ (['better-sqlite3', 'sqlite3']);

const clock = { now: () => Date.now() };
const REPO = 'bench/repo';
const STAGE = 'development';
const NEXT_STAGE = 'review';
/** Rows per multi-row INSERT: 1,000 rows x 11 columns stays under SQLITE_MAX_VARIABLE_NUMBER (32766). */
const CHUNK = 1000;

let fileSeq = 0;

/** Opens a fresh, migrated database file under `dir` with the given driver. */
async function freshDb(dir, driver) {
  const filename = path.join(dir, `b${process.pid}-${++fileSeq}-${driver}.db`);
  const db = await openDatabase({ client: 'sqlite', sqliteDriver: driver, filename });
  await runMigrations(db.knex, db.dialect, coreMigrations);
  const stores = {
    tasks: new KnexTaskStore(db, clock),
    jobs: new KnexJobStore(db, clock, silentLogger()),
  };
  return {
    db,
    ...stores,
    async dispose() {
      await db.close();
      for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(filename + suffix, { force: true });
    },
  };
}

/** Multi-row INSERT … VALUES of `rows` (arrays in `columns` order), chunked, in the caller's transaction. */
export async function bulkInsert(tx, table, columns, rows) {
  const one = `(${columns.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => one).join(', ')}`;
    await tx.raw(sql, chunk.flat());
  }
}

export const TASK_COLUMNS = [
  'repo', 'tracker_issue_id', 'work_item_id', 'title', 'description', 'stage',
  'branch', 'branch_cut', 'developer_retries', 'created_at', 'updated_at',
];
export const JOB_COLUMNS = [
  'task_id', 'stage', 'kind', 'role', 'status', 'attempt', 'retries', 'defer_count', 'available_at', 'created_at', 'reason',
];

/**
 * Inserts `count` tasks at STAGE and, when `withJobs`, one queued agent job per
 * task (available in the past, oldest first). Returns the task ids in order.
 * `repoOf(i)` names each task's repo (default: all in one repo). Shared with B2/B5.
 */
export async function seed(ctx, count, { withJobs, repoOf = () => REPO }) {
  const t0 = Date.now() - 24 * 3600 * 1000;
  await ctx.db.knex.transaction(async (tx) => {
    const tasks = [];
    for (let i = 0; i < count; i++) {
      tasks.push([repoOf(i), `ISSUE-${i}`, `BW-${i}`, `bench task ${i}`, '', STAGE, `bench/bw-${i}`, 1, 0, t0 + i, t0 + i]);
    }
    await bulkInsert(tx, 'tasks', TASK_COLUMNS, tasks);
  });
  const ids = (await ctx.db.knex('tasks').select('id').orderBy('id')).map((r) => Number(r.id));
  if (ids.length !== count) throw new Error(`seed: expected ${count} tasks, found ${ids.length}`);
  if (withJobs) {
    await ctx.db.knex.transaction(async (tx) => {
      const jobs = ids.map((id, i) => [id, STAGE, 'agent', 'developer', 'queued', 0, 0, 0, t0 + i, t0 + i, null]);
      await bulkInsert(tx, 'jobs', JOB_COLUMNS, jobs);
    });
  }
  return ids;
}

async function sqliteVersion(ctx) {
  const rows = rawRows(ctx.db, await ctx.db.knex.raw('select sqlite_version() as v'));
  return String(rows[0]?.v ?? '?');
}

/**
 * 1. Autocommit insert rate: `jobs.enqueue` once per task, each its own
 * statement/transaction. `warmup` enqueues run first, untimed.
 */
export async function benchEnqueue(dir, driver, { ops, warmup }) {
  const ctx = await freshDb(dir, driver);
  try {
    const ids = await seed(ctx, ops + warmup, { withJobs: false });
    const enqueue = (taskId) => ctx.jobs.enqueue({ taskId, stage: STAGE, kind: 'agent', role: 'developer' });
    for (let i = 0; i < warmup; i++) if (!(await enqueue(ids[i]))) throw new Error('enqueue returned null (warmup)');
    const start = performance.now();
    for (let i = warmup; i < warmup + ops; i++) {
      if (!(await enqueue(ids[i]))) throw new Error(`enqueue returned null for task ${ids[i]}`);
    }
    const ms = performance.now() - start;
    return { opsPerSec: (ops * 1000) / ms, ms, ops };
  } finally {
    await ctx.dispose();
  }
}

/**
 * 2. Claim + finish at a constant queue depth: `depth` queued jobs are
 * bulk-inserted; each timed pair is `jobs.claim` then `jobs.finish(…, 'done')`.
 * After each pair the task gets its next job (`jobs.enqueue`, untimed, at the
 * back of the queue) so every claim sees exactly `depth` queued jobs.
 */
export async function benchClaimFinish(dir, driver, { depth, ops, warmup }) {
  const ctx = await freshDb(dir, driver);
  try {
    const setupStart = performance.now();
    await seed(ctx, depth, { withJobs: true });
    const setupMs = performance.now() - setupStart;
    let timedMs = 0;
    for (let i = 0; i < warmup + ops; i++) {
      const t = performance.now();
      const job = await ctx.jobs.claim({ hostId: 'bench-host', clauses: [] });
      if (!job) throw new Error('claim returned null with a non-empty queue');
      if (!(await ctx.jobs.finish(job.id, job.attempt, 'done'))) throw new Error(`finish(${job.id}) returned false`);
      if (i >= warmup) timedMs += performance.now() - t;
      // Refill (untimed): keeps the queue at `depth`.
      if (!(await ctx.jobs.enqueue({ taskId: job.taskId, stage: STAGE, kind: 'agent', role: 'developer' }))) {
        throw new Error(`refill enqueue returned null for task ${job.taskId}`);
      }
    }
    const queued = await ctx.db.knex('jobs').where({ status: 'queued' }).count({ n: '*' });
    const n = Number(queued[0].n);
    if (n !== depth) throw new Error(`queue depth drifted: ${n} queued, expected ${depth}`);
    return { opsPerSec: (ops * 1000) / timedMs, ms: timedMs, ops, setupMs };
  } finally {
    await ctx.dispose();
  }
}

/**
 * 3. Guarded transition: `tasks.moveStage(id, STAGE, NEXT_STAGE, {reason})` in
 * its own `knex.transaction` (compare-and-set on stage + task_transitions row),
 * once per task.
 */
export async function benchTransition(dir, driver, { ops, warmup }) {
  const ctx = await freshDb(dir, driver);
  try {
    const ids = await seed(ctx, ops + warmup, { withJobs: false });
    const move = (id) => ctx.db.knex.transaction((tx) => ctx.tasks.moveStage(id, STAGE, NEXT_STAGE, { reason: 'bench' }, tx));
    for (let i = 0; i < warmup; i++) if (!(await move(ids[i]))) throw new Error('moveStage returned false (warmup)');
    const start = performance.now();
    for (let i = warmup; i < warmup + ops; i++) {
      if (!(await move(ids[i]))) throw new Error(`moveStage returned false for task ${ids[i]}`);
    }
    const ms = performance.now() - start;
    const events = await ctx.db.knex('task_transitions').count({ n: '*' });
    if (Number(events[0].n) !== ops + warmup) throw new Error(`expected ${ops + warmup} task_transitions rows, found ${events[0].n}`);
    return { opsPerSec: (ops * 1000) / ms, ms, ops };
  } finally {
    await ctx.dispose();
  }
}

/**
 * The claim statement's plan (`EXPLAIN QUERY PLAN`) on a database with `depth`
 * queued jobs. `ok` is false when SQLite sorts with a temp B-tree.
 */
export async function claimPlan(dir, driver, { depth }) {
  const ctx = await freshDb(dir, driver);
  try {
    await seed(ctx, depth, { withJobs: true });
    const { sql, bindings } = buildClaimSql(ctx.db, [], { hostId: 'h', now: Date.now() }, silentLogger());
    const rows = rawRows(ctx.db, await ctx.db.knex.raw(`EXPLAIN QUERY PLAN ${sql}`, bindings));
    const lines = renderPlan(rows);
    const tempBtree = lines.filter((l) => /USE TEMP B-TREE/i.test(l)).length;
    return { sql, lines, tempBtree, ok: tempBtree === 0, sqliteVersion: await sqliteVersion(ctx) };
  } finally {
    await ctx.dispose();
  }
}

/** EXPLAIN QUERY PLAN rows ({id, parent, detail}) → indented lines. */
function renderPlan(rows) {
  const depth = new Map([[0, -1]]);
  return rows.map((r) => {
    const d = (depth.get(Number(r.parent)) ?? -1) + 1;
    depth.set(Number(r.id), d);
    return `${'  '.repeat(d)}${r.detail}`;
  });
}
