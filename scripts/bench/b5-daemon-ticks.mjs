// B5: one reconciler tick and one reaper tick, the daemons' real code (the
// Reconciler and Reaper classes on the product's stores) with nothing to act on,
// beside the same SELECTs as prepared better-sqlite3 statements, at 10k and 100k
// tasks of which 10 % are live, plus 100k tasks with only the 10k case's live count
// (does the tick grow with live or with total?). Also the longest event-loop block
// during the product's ticks.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Sqlite from 'better-sqlite3';
import {
  openDatabase,
  runMigrations,
  coreMigrations,
  DEFAULT_PIPELINE,
  KnexTaskStore,
  KnexJobStore,
  KnexAgentRunStore,
  KnexLeaseStore,
  KnexCiStatusStore,
  LIVE_TASK_PAGE,
  silentLogger,
} from '../../packages/core/dist/src/index.js';
import { ClaimStore, Reconciler, reconcilerMigrations } from '../../packages/plugins/reconciler/dist/src/index.js';
import { Reaper, REAPER_PAGE } from '../../packages/plugins/reaper/dist/src/index.js';
import { k } from './b7.mjs';
import { line } from './result.mjs';
import { bulkInsert, TASK_COLUMNS, JOB_COLUMNS } from './sqlite-drivers.mjs';
import { median } from './stats.mjs';

const clock = { now: () => Date.now() };
const HOST = 'h';
const LIVE = `stage NOT IN ('done', 'cancelled')`;
const HUMAN_STAGES = DEFAULT_PIPELINE.stages.filter((s) => s.humanGate).map((s) => s.name);

/** `total` tasks, `live` of them at development or deploy (one in ten of those with a running job, the rest queued), the rest done with a done job. */
export async function build(dir, total, live) {
  const filename = path.join(dir, `b5-${total}-${live}.db`);
  fs.rmSync(filename, { force: true });
  const db = await openDatabase({ client: 'sqlite', filename });
  await runMigrations(db.knex, db.dialect, [...coreMigrations, ...reconcilerMigrations]);
  const t0 = Date.now() - 86_400_000;
  // Live tasks spread through the id range, as they are in a long-running instance.
  const every = Math.floor(total / live);
  const isLive = (i) => i % every === 0 && i / every < live;
  await db.knex.transaction(async (tx) => {
    const rows = [];
    for (let i = 0; i < total; i++) rows.push([`r${i % 50}`, `I-${i}`, `W-${i}`, `t${i}`, '', isLive(i) ? (i % 5 === 0 ? 'deploy' : 'development') : 'done', `b/${i}`, 1, 0, t0 + i, t0 + i]);
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
  // Running here, leases held (nothing for the reaper to take back), agents alive.
  await db.knex.raw(`UPDATE jobs SET host_id = ?, heartbeat_at = ?, lease_expires_at = ? WHERE status = 'running'`, [HOST, Date.now(), Date.now() + 86_400_000]);
  const stores = { tasks: new KnexTaskStore(db, clock), jobs: new KnexJobStore(db, clock, silentLogger()), agentRuns: new KnexAgentRunStore(db, clock), leases: new KnexLeaseStore(db, clock), ciStatuses: new KnexCiStatusStore(db, clock) };
  const logger = silentLogger();
  const nothing = () => {
    throw new Error('B5: a tick found something to act on; the benchmark measures the selection only');
  };
  const reconciler = new Reconciler(
    {
      knex: db.knex,
      stores,
      engine: () => ({ advance: nothing, evaluateGates: nothing }),
      intake: nothing,
      ports: () => ({ tracker: () => null, forge: () => null }),
      pipeline: DEFAULT_PIPELINE,
      config: { statuses: {}, repos: {} },
      claims: new ClaimStore(db.knex, clock, HOST, 60_000),
      events: { emit() {} },
      logger,
      now: () => clock.now(),
      inScope: () => true,
      heldBackBy: async () => [],
    },
    { graceMs: 120_000, stageGraceMs: {}, batchSize: 200, forgeSide: false, trackerSide: false, trackerStatuses: [] },
  );
  // The worker's part of a reaper tick is the selection of expired leases (none expire here).
  const worker = { expireLeases: async () => (await stores.jobs.expired(100)).map(nothing), isRunning: () => true };
  const reaper = new Reaper({ stores, worker: () => worker, finisher: nothing, engine: nothing, hostId: HOST, clock, logger, emit() {}, settings: { deadTicks: 3, finalizeGraceMs: 300_000, maxRunningMs: 7_200_000 } });
  return { db, filename, reconciler, reaper };
}

/** One reconciler tick and one reaper tick, as their loops run them. */
export async function productTick(ctx) {
  const r = await ctx.reconciler.tick();
  const counts = await ctx.reaper.tick();
  if (r.examined || r.merges || Object.values(counts).some((n) => n > 0)) throw new Error('B5: a tick acted; the data is meant to give it nothing to do');
}

/** The same SELECTs, prepared once, run back to back (no knex, no awaits, no row objects). */
function rawTicker(raw) {
  const page = raw.prepare(
    `SELECT t.id, t.repo, t.stage, t.updated_at, t.blocked_reason, t.cancel_requested_at, ` +
      `CASE WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.task_id = t.id AND j.status IN ('queued', 'running')) THEN 1 ELSE 0 END AS busy ` +
      `FROM tasks AS t WHERE t.id > ? AND t.${LIVE} ORDER BY t.id ASC LIMIT ?`,
  );
  const summaries = raw.prepare(`SELECT id, repo, stage, updated_at, blocked_reason, merge_initiated_at, merged_at FROM tasks WHERE id > ? AND ${LIVE} ORDER BY id ASC LIMIT ?`);
  const expired = raw.prepare(`SELECT * FROM jobs WHERE status = 'running' AND lease_expires_at < ? ORDER BY lease_expires_at ASC, id ASC LIMIT 100`);
  const running = raw.prepare(`SELECT * FROM jobs WHERE status = 'running' AND host_id = ? AND id > ? ORDER BY id ASC LIMIT ?`);
  const runsOf = new Map();
  const runs = (jobs) => {
    let stmt = runsOf.get(jobs.length);
    if (!stmt) runsOf.set(jobs.length, (stmt = raw.prepare(`SELECT * FROM agent_runs WHERE job_id IN (${jobs.map(() => '?').join(', ')})`)));
    return stmt.all(...jobs.map((j) => j.id));
  };
  const leases = raw.prepare(`SELECT * FROM merge_leases ORDER BY repo`);
  const pages = (stmt, args) => {
    let n = 0;
    for (let after = 0; ; ) {
      const rows = stmt.all(...args(after));
      n += rows.length;
      if (rows.length < LIVE_TASK_PAGE) return n;
      after = rows[rows.length - 1].id;
    }
  };
  return () => {
    let n = 0;
    n += pages(summaries, (after) => [after, LIVE_TASK_PAGE]);
    n += pages(page, (after) => [after, LIVE_TASK_PAGE]);
    n += expired.all(Date.now()).length;
    for (let after = 0; ; ) {
      const jobs = running.all(HOST, after, REAPER_PAGE);
      if (jobs.length > 0) n += runs(jobs).length;
      if (jobs.length < REAPER_PAGE) break;
      after = jobs[jobs.length - 1].id;
    }
    n += leases.all().length;
    return n;
  };
}

/**
 * The longest event-loop block of each round, two ways. Wall: the longest gap between
 * the runs of a 1 ms interval timer, less its 1 ms; on a loaded machine a gap also
 * holds the time the process waited for a core. CPU: the process's CPU time spent in
 * the same gap (process.cpuUsage), which waiting for a core does not add to (GC
 * helper threads do, a little). Waits land anywhere, a block the code causes comes
 * back every round, so the median of the rounds' longest is reported.
 */
function blockProbe() {
  let longest = 0;
  let longestCpu = 0;
  let last = 0;
  let lastCpu;
  let t;
  return {
    start() {
      longest = 0;
      longestCpu = 0;
      last = performance.now();
      lastCpu = process.cpuUsage();
      t = setInterval(() => {
        const n = performance.now();
        const c = process.cpuUsage(lastCpu);
        longest = Math.max(longest, n - last - 1);
        longestCpu = Math.max(longestCpu, (c.user + c.system) / 1000);
        last = n;
        lastCpu = process.cpuUsage();
      }, 1);
    },
    stop() {
      clearInterval(t);
      return { wall: longest, cpu: longestCpu };
    },
  };
}

async function measure(ctx, rawTick, rounds, ticks) {
  const s = { product: [], raw: [], productCpu: [], rawCpu: [], block: [], blockCpu: [] };
  const probe = blockProbe();
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['product', 'raw'] : ['raw', 'product'];
    for (const which of order) {
      if (which === 'product') probe.start();
      const t = performance.now();
      const cpu = process.cpuUsage();
      for (let i = 0; i < ticks; i++) {
        if (which === 'product') await productTick(ctx);
        else rawTick();
        // A daemon ticks from a timer: let other work (and the probe) run between ticks.
        await new Promise((resolve) => setImmediate(resolve));
      }
      s[which].push((performance.now() - t) / ticks);
      const used = process.cpuUsage(cpu);
      s[`${which}Cpu`].push((used.user + used.system) / 1000 / ticks);
      if (which === 'product') {
        const b = probe.stop();
        s.block.push(b.wall);
        s.blockCpu.push(b.cpu);
      }
    }
  }
  return { product: median(s.product), raw: median(s.raw), productCpu: median(s.productCpu), rawCpu: median(s.rawCpu), blockMs: median(s.block), blockCpuMs: median(s.blockCpu) };
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
      const rawTick = rawTicker(raw);
      await productTick(ctx);
      if (rawTick() < c.live) throw new Error(`B5: the raw tick read fewer than the ${c.live} live tasks`);
      res.push({ ...c, ...(await measure(ctx, rawTick, rounds, ticks)) });
    } finally {
      raw.close();
      await ctx.db.close();
    }
    const r = res.at(-1);
    o.log(`  B5 ${k(c.total)} tasks, ${k(c.live)} live: product ${r.product.toFixed(2)} ms/tick (${r.productCpu.toFixed(2)} CPU), raw ${r.raw.toFixed(2)} ms/tick (${r.rawCpu.toFixed(2)} CPU), longest loop block ${r.blockMs.toFixed(1)} ms wall, ${r.blockCpuMs.toFixed(1)} ms CPU (median of the rounds)`);
  }
  const out = res.slice(0, 2).map((r) =>
    line({ id: 'B5', metric: `reconciler+reaper tick ms at ${k(r.total)} tasks (${k(r.live)} live), SQLite (vs raw better-sqlite3)`, value: r.product, baseline: r.raw, target: '≤ 2', met: r.product / r.raw <= 2 }),
  );
  const [a, , c] = res;
  const growth = c.product / a.product;
  out.push(line({ id: 'B5', metric: `tick ms at ${k(c.total)} vs ${k(a.total)} tasks, same ${k(a.live)} live (grows with live, not total)`, value: c.product, baseline: a.product, ratio: growth, target: '≤ 1.5', met: growth <= 1.5 }));
  const block = Math.max(...res.map((r) => r.blockMs));
  out.push(line({ id: 'B5', metric: 'longest event-loop block during product ticks, ms', value: block, ratio: block / 10, target: '≤ 10 ms', met: block <= 10 }));
  const blockCpu = Math.max(...res.map((r) => r.blockCpuMs));
  out.push(line({ id: 'B5', metric: 'longest event-loop block during product ticks, CPU ms (waiting for a core not counted)', value: blockCpu, ratio: blockCpu / 10, target: '≤ 10 ms', met: blockCpu <= 10 }));
  return out;
}
