// B5: what a reconciler/reaper tick selects (the live tasks, the running jobs)
// through the product's stores beside the same selection as plain SQL through
// better-sqlite3, at 10k and 100k tasks of which 10 % are live, plus 100k tasks
// with only the 10k case's live count (does the tick grow with live or with
// total?). Also the longest event-loop block during the product's ticks.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Sqlite from 'better-sqlite3';
import { openDatabase, runMigrations, coreMigrations, KnexTaskStore, KnexJobStore, silentLogger, liveTaskPages } from '../../packages/core/dist/src/index.js';
import { k } from './b7.mjs';
import { line } from './result.mjs';
import { bulkInsert, TASK_COLUMNS, JOB_COLUMNS } from './sqlite-drivers.mjs';
import { median } from './stats.mjs';

const clock = { now: () => Date.now() };
const TERMINAL_SQL = `stage NOT IN ('done', 'cancelled')`;

/** `total` tasks, `live` of them at development (one in ten of those with a running job), the rest done with a done job. */
async function build(dir, total, live) {
  const filename = path.join(dir, `b5-${total}-${live}.db`);
  const db = await openDatabase({ client: 'sqlite', filename });
  await runMigrations(db.knex, db.dialect, coreMigrations);
  const t0 = Date.now() - 86_400_000;
  // Live tasks spread through the id range, as they are in a long-running instance.
  const every = Math.floor(total / live);
  const isLive = (i) => i % every === 0 && i / every < live;
  await db.knex.transaction(async (tx) => {
    const rows = [];
    for (let i = 0; i < total; i++) rows.push([`r${i % 50}`, `I-${i}`, `W-${i}`, `t${i}`, '', isLive(i) ? 'development' : 'done', `b/${i}`, 1, 0, t0 + i, t0 + i]);
    await bulkInsert(tx, 'tasks', TASK_COLUMNS, rows);
  });
  const ids = (await db.knex('tasks').select('id').orderBy('id')).map((r) => Number(r.id));
  await db.knex.transaction(async (tx) => {
    let liveSeen = 0;
    const rows = ids.map((id, i) => {
      const status = isLive(i) ? (liveSeen++ % 10 === 0 ? 'running' : 'queued') : 'done';
      return [id, 'development', 'agent', 'developer', status, 1, 0, 0, t0 + i, t0 + i, null];
    });
    await bulkInsert(tx, 'jobs', JOB_COLUMNS, rows);
  });
  await db.knex.raw(`UPDATE jobs SET host_id = 'h', heartbeat_at = 0 WHERE status = 'running'`);
  return { db, filename, tasks: new KnexTaskStore(db, clock), jobs: new KnexJobStore(db, clock, silentLogger()) };
}

/** One tick through the product: every live task (a page at a time, as the daemons read them), then this host's running jobs. */
async function productTick(ctx) {
  let n = 0;
  for await (const page of liveTaskPages(ctx.tasks)) n += page.length;
  const running = await ctx.jobs.running({ hostId: 'h' });
  return n + running.length;
}

/** The same selection, written plainly, prepared once. */
function rawTick(raw) {
  const tasks = raw.prepare(`SELECT * FROM tasks WHERE ${TERMINAL_SQL} ORDER BY id`).all();
  const running = raw.prepare(`SELECT * FROM jobs WHERE status = 'running' AND host_id = ? ORDER BY id`).all('h');
  return tasks.length + running.length;
}

async function measure(ctx, raw, live, rounds, ticks) {
  const s = { product: [], raw: [] };
  // A 1 ms interval timer: the longest gap between its runs is the longest the
  // loop was held (better-sqlite3 runs each statement synchronously).
  let blockMs = 0;
  let last = 0;
  const probe = { start() { last = performance.now(); this.t = setInterval(() => { const n = performance.now(); blockMs = Math.max(blockMs, n - last - 1); last = n; }, 1); }, stop() { clearInterval(this.t); } };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['product', 'raw'] : ['raw', 'product'];
    for (const which of order) {
      if (which === 'product') probe.start();
      const t = performance.now();
      let n = 0;
      for (let i = 0; i < ticks; i++) {
        n = which === 'product' ? await productTick(ctx) : rawTick(raw);
        // A daemon ticks from a timer: let other work (and the probe) run between ticks.
        await new Promise((resolve) => setImmediate(resolve));
      }
      s[which].push((performance.now() - t) / ticks);
      if (which === 'product') probe.stop();
      if (n < live) throw new Error(`B5: a tick selected ${n} rows, expected at least ${live}`);
    }
  }
  return { product: median(s.product), raw: median(s.raw), blockMs };
}

/** @param {{ dir: string, sizes: { rounds: number, b5Small: number, b5Large: number, b5Ticks: number }, log: Function }} o */
export async function runB5(o) {
  fs.mkdirSync(o.dir, { recursive: true });
  const { b5Small: small, b5Large: large, rounds, b5Ticks: ticks } = o.sizes;
  const cases = [
    { total: small, live: small / 10 },
    { total: large, live: large / 10 },
    { total: large, live: small / 10 },
  ];
  const res = [];
  for (const c of cases) {
    const ctx = await build(o.dir, c.total, c.live);
    const raw = new Sqlite(ctx.filename, { readonly: true });
    try {
      await productTick(ctx, c.live);
      rawTick(raw, c.live);
      res.push({ ...c, ...(await measure(ctx, raw, c.live, rounds, ticks)) });
    } finally {
      raw.close();
      await ctx.db.close();
    }
    const r = res.at(-1);
    o.log(`  B5 ${k(c.total)} tasks, ${k(c.live)} live: product ${r.product.toFixed(2)} ms/tick, raw ${r.raw.toFixed(2)} ms/tick, longest loop block ${r.blockMs.toFixed(1)} ms`);
  }
  const out = res.slice(0, 2).map((r) =>
    line({ id: 'B5', metric: `reconciler+reaper tick ms at ${k(r.total)} tasks (${k(r.live)} live), SQLite (vs raw better-sqlite3)`, value: r.product, baseline: r.raw, target: '≤ 2', met: r.product / r.raw <= 2 }),
  );
  const [a, , c] = res;
  const growth = c.product / a.product;
  out.push(line({ id: 'B5', metric: `tick ms at ${k(c.total)} vs ${k(a.total)} tasks, same ${k(a.live)} live (grows with live, not total)`, value: c.product, baseline: a.product, ratio: growth, target: '≤ 1.5', met: growth <= 1.5 }));
  const block = Math.max(...res.map((r) => r.blockMs));
  out.push(line({ id: 'B5', metric: 'longest event-loop block during product ticks, ms', value: block, ratio: block / 10, target: '≤ 10 ms', met: block <= 10 }));
  return out;
}
