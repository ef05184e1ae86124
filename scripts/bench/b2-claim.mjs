// B2: claim + finish with every claim clause on (serial-gate and task-deps), at
// a small and a large queue depth, through the product (KnexJobStore.claim and
// finish) beside the same SQL through the raw driver (better-sqlite3 prepared
// statements on the same file), in alternating rounds. Also checks the plan of
// the clause-laden claim for a temp sort.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Sqlite from 'better-sqlite3';
import { createConveyor, buildClaimSql, rawRows, silentLogger } from '../../packages/core/dist/src/index.js';
import { serialGatePlugin } from '../../packages/plugins/serial-gate/dist/src/index.js';
import { taskDepsPlugin } from '../../packages/plugins/task-deps/dist/src/index.js';
import { k } from './b7.mjs';
import { line } from './result.mjs';
import { seed } from './sqlite-drivers.mjs';
import { median } from './stats.mjs';

const STAGE = 'development';

/** A migrated instance with both clause plugins on, seeded with `depth` queued jobs, one repo each. */
async function instance(dir, depth) {
  const filename = path.join(dir, `b2-${depth}.db`);
  const conveyor = await createConveyor({
    config: {
      instance: { dataDir: dir },
      database: { client: 'sqlite', filename },
      worker: { enabled: false },
      plugins: { 'serial-gate': { enabled: true }, 'task-deps': { enabled: true } },
    },
    plugins: [serialGatePlugin, taskDepsPlugin],
    logger: silentLogger(),
  });
  // One repo per task: serial-gate admits each (its clause still runs), task-deps finds no dependency.
  await seed({ db: conveyor.db }, depth, { withJobs: true, repoOf: (i) => `bench/r${i}` });
  return { conveyor, filename };
}

/** `ops` claim+finish pairs through the product; the refill keeps the depth and is not timed. */
async function viaProduct(conveyor, ops) {
  const clauses = conveyor.clauses.list();
  let ms = 0;
  for (let i = 0; i < ops; i++) {
    const t = performance.now();
    const job = await conveyor.store.jobs.claim({ hostId: 'bench', clauses });
    if (!job) throw new Error('B2: the product claimed nothing from a full queue');
    if (!(await conveyor.store.jobs.finish(job.id, job.attempt, 'done'))) throw new Error(`B2: finish(${job.id}) failed`);
    ms += performance.now() - t;
    await conveyor.store.jobs.enqueue({ taskId: job.taskId, stage: STAGE, kind: 'agent', role: 'developer' });
  }
  return (ops * 1000) / ms;
}

/** The same claim SQL and the same finish UPDATE, prepared once, through better-sqlite3 itself. */
async function viaRaw(conveyor, raw, ops) {
  const clauses = conveyor.clauses.list();
  const first = buildClaimSql(conveyor.db, clauses, { hostId: 'bench', now: Date.now() }, silentLogger());
  const claim = raw.prepare(first.sql);
  const finish = raw.prepare(`UPDATE jobs SET status = 'done', finished_at = ?, error = NULL WHERE id = ? AND attempt = ? AND status = 'running'`);
  let ms = 0;
  for (let i = 0; i < ops; i++) {
    const t = performance.now();
    const now = Date.now();
    const { bindings } = buildClaimSql(conveyor.db, clauses, { hostId: 'bench', now }, silentLogger());
    const job = claim.get(...bindings.map(sqliteValue));
    if (!job) throw new Error('B2: the raw driver claimed nothing from a full queue');
    if (finish.run(Date.now(), job.id, job.attempt).changes !== 1) throw new Error(`B2: raw finish(${job.id}) failed`);
    ms += performance.now() - t;
    await conveyor.store.jobs.enqueue({ taskId: job.task_id, stage: STAGE, kind: 'agent', role: 'developer' });
  }
  return (ops * 1000) / ms;
}

const sqliteValue = (v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v instanceof Date ? v.getTime() : v);

async function planOf(conveyor) {
  const { sql, bindings } = buildClaimSql(conveyor.db, conveyor.clauses.list(), { hostId: 'h', now: Date.now() }, silentLogger());
  const rows = rawRows(conveyor.db, await conveyor.db.knex.raw(`EXPLAIN QUERY PLAN ${sql}`, bindings));
  return rows.map((r) => String(r.detail));
}

/** @param {{ dir: string, sizes: { rounds: number, small: number, large: number, claimOps: number, warmup: number }, log: Function }} o */
export async function runB2(o) {
  const { rounds, small, large, claimOps: ops, warmup } = o.sizes;
  fs.mkdirSync(o.dir, { recursive: true });
  const rates = {};
  let plan = [];
  for (const depth of [small, large]) {
    const { conveyor, filename } = await instance(o.dir, depth);
    const raw = new Sqlite(filename);
    // The product's connection settings (database.ts), so that neither side pays a
    // sync the other skips: WAL is the file's, the rest is per connection.
    raw.pragma('busy_timeout = 5000');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
    try {
      if (depth === large) plan = await planOf(conveyor);
      await viaProduct(conveyor, warmup);
      await viaRaw(conveyor, raw, warmup);
      const s = { product: [], raw: [] };
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? ['product', 'raw'] : ['raw', 'product'];
        for (const which of order) s[which].push(which === 'product' ? await viaProduct(conveyor, ops) : await viaRaw(conveyor, raw, ops));
      }
      rates[depth] = { product: median(s.product), raw: median(s.raw) };
      o.log(`  B2 at ${k(depth)} queued: product ${Math.round(rates[depth].product)}/s, raw ${Math.round(rates[depth].raw)}/s (clauses: ${conveyor.clauses.list().map((c) => c.name).join(', ')})`);
    } finally {
      raw.close();
      await conveyor.stop();
    }
  }
  const sorts = plan.filter((l) => /TEMP B-TREE/i.test(l)).length;
  o.log(`  B2 claim plan with clauses at ${k(large)} queued:\n${plan.map((l) => `    ${l}`).join('\n')}`);
  const out = [];
  for (const depth of [small, large]) {
    const r = rates[depth];
    out.push(line({ id: 'B2', metric: `claim+finish pairs/s, every clause on, ${k(depth)} queued, SQLite (vs raw better-sqlite3)`, value: r.product, baseline: r.raw, target: '≥ 0.9', met: r.product / r.raw >= 0.9 }));
  }
  const scale = rates[large].product / rates[small].product;
  out.push(line({ id: 'B2', metric: `claim+finish rate at ${k(large)} vs ${k(small)} queued (product)`, value: rates[large].product, baseline: rates[small].product, ratio: scale, target: '≥ 0.8', met: scale >= 0.8 }));
  out.push(line({ id: 'B2', metric: 'claim plan with every clause free of USE TEMP B-TREE (1 = yes)', value: sorts === 0 ? 1 : 0, ratio: sorts === 0 ? 1 : 0, target: 1, met: sorts === 0 }));
  return out;
}
