// B3: PostgreSQL no-op job throughput and pickup latency with 2 worker processes,
// Conveyor's job store (claim + finish, LISTEN/NOTIFY wake-up) beside
// graphile-worker 0.17 (unbatched, its defaults) on the same server, each in its
// own schema, in alternating rounds. Without CONVEYOR_TEST_PG_URL it says so and skips.
import { spawn } from 'node:child_process';
import { track } from './children.mjs';
import crypto from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { openDatabase, runMigrations, coreMigrations, KnexJobStore, silentLogger } from '../../packages/core/dist/src/index.js';
import { line, skipped } from './result.mjs';
import { bulkInsert, TASK_COLUMNS, JOB_COLUMNS } from './sqlite-drivers.mjs';
import { median } from './stats.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const now = () => performance.timeOrigin + performance.now();

/** Starts one worker process and resolves once it says "ready". */
async function worker(system, url, schema) {
  const child = track(spawn(process.execPath, [path.join(HERE, 'pg-queue-worker.mjs'), system, url, schema], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const picks = [];
  let onPick = () => {};
  const rl = readline.createInterface({ input: child.stdout });
  await new Promise((resolve, reject) => {
    rl.on('line', (l) => {
      if (l === 'ready') resolve();
      const m = /^picked (\S*) (\S+)$/.exec(l);
      if (m) {
        picks.push({ seq: m[1], at: Number(m[2]) });
        onPick(m[1], Number(m[2]));
      }
    });
    exited.then((code) => reject(new Error(`B3 ${system} worker exited (${code}) before it was ready`)));
  });
  return {
    picks,
    set onPick(f) { onPick = f; },
    send: (s) => child.stdin.write(`${s}\n`),
    async stop() { child.stdin.end('stop\n'); await exited; },
  };
}

/** The two systems behind one interface: prepare a schema, fill the queue, add one job. */
async function conveyorSide(url, n) {
  const schema = `bench_b3_cv_${crypto.randomBytes(4).toString('hex')}`;
  const db = await openDatabase({ client: 'pg', url, schema });
  await runMigrations(db.knex, db.dialect, coreMigrations);
  const jobs = new KnexJobStore(db, { now: () => Date.now() }, silentLogger());
  await db.knex.transaction((tx) => bulkInsert(tx, 'tasks', TASK_COLUMNS, Array.from({ length: n }, (_, i) => [`r${i}`, `I-${i}`, `W-${i}`, 't', '', 'development', `b/${i}`, 1, 0, 0, 0])));
  const ids = (await db.knex('tasks').select('id').orderBy('id')).map((r) => Number(r.id));
  return {
    name: 'conveyor',
    schema,
    async fill() {
      await db.knex.transaction((tx) => bulkInsert(tx, 'jobs', JOB_COLUMNS, ids.map((id) => [id, 'development', 'agent', 'developer', 'queued', 0, 0, 0, 0, 0, null])));
    },
    async addOne(seq) {
      if (!(await jobs.enqueue({ taskId: ids[seq % ids.length], stage: 'development', kind: 'agent', role: 'developer', reason: String(seq) }))) throw new Error('B3: enqueue refused');
    },
    async dispose() {
      await db.knex.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
    },
  };
}

async function graphileSide(url, n) {
  const { makeWorkerUtils } = await import('graphile-worker');
  const schema = `bench_b3_gw_${crypto.randomBytes(4).toString('hex')}`;
  const utils = await makeWorkerUtils({ connectionString: url, schema });
  await utils.migrate();
  return {
    name: 'graphile',
    schema,
    async fill() {
      for (let i = 0; i < n; i++) await utils.addJob('noop', {});
    },
    async addOne(seq) {
      await utils.addJob('noop', { seq: String(seq) });
    },
    async dispose() {
      await utils.withPgClient((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
      await utils.release();
    },
  };
}

let seqs = 0;

/** One round for one system: throughput over `n` queued jobs, then `m` pickups one at a time. */
async function round(side, url, n, m) {
  await side.fill();
  const ws = await Promise.all([0, 1].map(() => worker(side.name, url, side.schema)));
  try {
    let picked = 0;
    const all = new Promise((resolve) => ws.forEach((w) => { w.onPick = () => { if (++picked === n) resolve(now()); }; }));
    const t0 = now();
    ws.forEach((w) => w.send('go'));
    const tEnd = await all;
    const throughput = (n * 1000) / (tEnd - t0);
    const lat = [];
    for (let i = 0; i < m; i++) {
      // The listener is in place before the add: a worker may start the job before addOne returns.
      const seq = ++seqs;
      const got = new Promise((resolve) => ws.forEach((w) => { w.onPick = (s, at) => { if (s === String(seq)) resolve(at); }; }));
      const t = now();
      await side.addOne(seq);
      lat.push((await got) - t);
    }
    return { throughput, pickup: median(lat) };
  } finally {
    await Promise.all(ws.map((w) => w.stop()));
  }
}

/** @param {{ sizes: { rounds: number, b3Jobs: number, b3Pickups: number }, log: Function }} o */
export async function runB3(o) {
  const url = process.env.CONVEYOR_TEST_PG_URL;
  if (!url) {
    o.log('  B3 skipped: CONVEYOR_TEST_PG_URL is not set (a PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:5432/test)');
    return [skipped('B3', 'PostgreSQL no-op jobs/s, 2 worker processes (vs graphile-worker)', 'CONVEYOR_TEST_PG_URL not set'), skipped('B3', 'pickup latency p50 ms (vs graphile-worker)', 'CONVEYOR_TEST_PG_URL not set')];
  }
  const { rounds, b3Jobs: n, b3Pickups: m } = o.sizes;
  const sides = [await conveyorSide(url, n), await graphileSide(url, n)];
  const s = { conveyor: { throughput: [], pickup: [] }, graphile: { throughput: [], pickup: [] } };
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const res = await round(side, url, n, m);
        s[side.name].throughput.push(res.throughput);
        s[side.name].pickup.push(res.pickup);
      }
      o.log(`  B3 round ${r + 1}/${rounds}: conveyor ${Math.round(s.conveyor.throughput.at(-1))} jobs/s, pickup ${s.conveyor.pickup.at(-1).toFixed(2)} ms; graphile-worker ${Math.round(s.graphile.throughput.at(-1))} jobs/s, pickup ${s.graphile.pickup.at(-1).toFixed(2)} ms`);
    }
  } finally {
    for (const side of sides) await side.dispose();
  }
  const tp = { v: median(s.conveyor.throughput), b: median(s.graphile.throughput) };
  const pk = { v: median(s.conveyor.pickup), b: median(s.graphile.pickup) };
  return [
    line({ id: 'B3', metric: `PostgreSQL no-op jobs/s, ${n} queued, 2 worker processes (vs graphile-worker 0.17 unbatched)`, value: tp.v, baseline: tp.b, target: '≥ 1.0', met: tp.v / tp.b >= 1 }),
    line({ id: 'B3', metric: 'PostgreSQL pickup latency p50 ms, add → start, idle workers (vs graphile-worker 0.17)', value: pk.v, baseline: pk.b, target: '≤ 2', met: pk.v / pk.b <= 2 }),
  ];
}
