// B8: the whole pipeline. 50 tasks filed with POST /tasks on real hosts
// (`conveyor start` processes: tracker-local, forge-git with a bare origin and
// a no-op CI command, agent-script running a no-op agent), timed until every task
// is done; beside it, in the same run, the unavoidable work of one task timed
// alone (the agent spawns, the CI spawn and the git commands a task needs),
// scaled to the task count and divided by the worker slots. SQLite with one host;
// PostgreSQL with two hosts when CONVEYOR_TEST_PG_URL is set.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../packages/core/dist/src/index.js';
import { installGitShim, readGitLog, summarizeGit } from './git-count.mjs';
import { phaseMedians, phaseReport, readPhases } from './b8-phases.mjs';
import { startHost } from './host-process.mjs';
import { line, skipped } from './result.mjs';
import { median } from './stats.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const AGENT = path.join(HERE, 'noop-agent.sh');
const TOKEN = crypto.randomBytes(24).toString('hex');
const AGENT_STAGES = ['analysis', 'architecture', 'development', 'review', 'testing', 'deploy-staging', 'deploy'];
const SLOTS = 2;

const yaml = ({ dataDir, origin, database }) => `instance:
  dataDir: ${dataDir}
database:
${database}
host:
  address: 127.0.0.1
  token: \${BENCH_TOKEN}
workspaces:
  root: ${dataDir}/workspaces
worker:
  maxConcurrency: ${SLOTS}
repos:
  bench:
    url: ${origin}
    testCommand: "true"
plugins:
  tracker-local:
    defaultRepo: bench
    autoApprove: true
  forge-git:
    initMissing: true
    logDir: ${dataDir}/logs
  agent-script:
    defaultCommand: ${AGENT}
    logDir: ${dataDir}/logs
`;

/** Runs the pipeline for `tasks` tasks on `hosts` hosts; returns wall ms and per-transition durations. */
async function pipelineRun({ dir, tasks, hosts, database, dbConfig, gitShim }) {
  const origin = path.join(dir, 'origin', 'bench.git');
  const started = [];
  const env = { BENCH_TOKEN: TOKEN, ...(gitShim ? { PATH: `${gitShim.bin}${path.delimiter}${process.env.PATH}` } : {}) };
  try {
    for (let h = 0; h < hosts; h++) {
      const dataDir = path.join(dir, `host-${h}`);
      started.push(await startHost({ dir: dataDir, yaml: yaml({ dataDir, origin, database }), env, timeoutMs: 30_000 }));
    }
    const t0 = performance.now();
    for (let i = 0; i < tasks; i++) {
      const host = started[i % started.length];
      const res = await fetch(`${host.url}/tasks`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: `bench task ${i}` }) });
      if (res.status !== 201) throw new Error(`B8: POST /tasks answered ${res.status}: ${await res.text()}`);
    }
    const db = await openDatabase(dbConfig);
    try {
      // A benchmark may poll; 100 ms is well under the ~seconds a task takes.
      for (;;) {
        const rows = await db.knex('tasks').select('stage', 'blocked_reason');
        const blocked = rows.filter((r) => r.blocked_reason);
        if (blocked.length) throw new Error(`B8: ${blocked.length} task(s) blocked, e.g. ${blocked[0].blocked_reason}`);
        if (rows.length === tasks && rows.every((r) => r.stage === 'done')) break;
        if (performance.now() - t0 > 15 * 60_000) throw new Error('B8: tasks not done within 15 minutes');
        await sleep(100);
      }
      const wallMs = performance.now() - t0;
      const created = new Map((await db.knex('tasks').select('id', 'created_at')).map((r) => [Number(r.id), Number(r.created_at)]));
      const trans = await db.knex('task_transitions').select('task_id', 'from_stage', 'to_stage', 'at').orderBy('id');
      const last = new Map(created);
      const per = {};
      for (const t of trans) {
        const id = Number(t.task_id);
        const key = `${t.from_stage}→${t.to_stage}`;
        (per[key] ??= []).push(Number(t.at) - last.get(id));
        last.set(id, Number(t.at));
      }
      return { wallMs, per, phases: await readPhases(db.knex) };
    } finally {
      await db.close();
    }
  } finally {
    for (const h of started) await h.stop();
  }
}

/**
 * One task's unavoidable work, timed alone: a clone of the origin and a branch,
 * then per agent stage one agent process and a commit pushed to the origin, one CI
 * process, and the merge into main pushed back. What Conveyor must do at least.
 */
function unavoidableMs(dir) {
  const origin = path.join(dir, 'u-origin.git');
  const work = path.join(dir, 'u-work');
  fs.rmSync(origin, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
  const g = (cwd, ...args) => execFileSync('git', args, { cwd, env, stdio: 'ignore' });
  g(dir, 'init', '-q', '--bare', '-b', 'main', origin);
  const seedDir = path.join(dir, 'u-seed');
  fs.rmSync(seedDir, { recursive: true, force: true });
  g(dir, 'init', '-q', '-b', 'main', seedDir);
  fs.writeFileSync(path.join(seedDir, 'README.md'), 'x\n');
  g(seedDir, 'add', '-A');
  g(seedDir, 'commit', '-qm', 'init');
  g(seedDir, 'push', '-q', origin, 'main');
  const t0 = performance.now();
  g(dir, 'clone', '-q', origin, work);
  g(work, 'checkout', '-qb', 'task');
  for (const stage of AGENT_STAGES) {
    const artifact = `docs/${stage}.md`;
    const r = spawnSync('/bin/sh', ['-c', AGENT], { cwd: work, env: { ...env, CONVEYOR_ARTIFACT: artifact, CONVEYOR_STAGE: stage }, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`B8: the no-op agent failed alone (${r.status})`);
    g(work, 'add', '-A');
    g(work, 'commit', '-qm', stage);
    g(work, 'push', '-q', 'origin', 'task');
  }
  spawnSync('/bin/sh', ['-c', 'true'], { cwd: work, stdio: 'ignore' });
  g(work, 'checkout', '-q', 'main');
  g(work, 'merge', '-q', '--no-ff', '-m', 'merge', 'task');
  g(work, 'push', '-q', 'origin', 'main');
  return performance.now() - t0;
}

function pct(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * `countGit`: a git shim on the hosts' PATH logs every git process; the report
 * then counts them by command and place (see git-count.mjs).
 * @param {{ dir: string, sizes: { b8Tasks: number, b8Unavoidable: number }, log: Function, countGit?: boolean }} o
 */
export async function runB8(o) {
  fs.mkdirSync(o.dir, { recursive: true });
  const tasks = o.sizes.b8Tasks;
  const variants = [{ name: 'SQLite, 1 host', hosts: 1, kind: 'sqlite' }];
  const url = process.env.CONVEYOR_TEST_PG_URL;
  if (url) variants.push({ name: 'PostgreSQL, 2 hosts', hosts: 2, kind: 'pg' });
  const out = [];
  for (const v of variants) {
    const dir = path.join(o.dir, v.kind);
    fs.mkdirSync(dir, { recursive: true });
    const schema = `bench_b8_${crypto.randomBytes(4).toString('hex')}`;
    const dbFile = path.join(dir, 'conveyor.db');
    const database = v.kind === 'pg' ? `  client: pg\n  url: \${CONVEYOR_TEST_PG_URL}\n  schema: ${schema}` : `  client: sqlite\n  filename: ${dbFile}`;
    const dbConfig = v.kind === 'pg' ? { client: 'pg', url, schema } : { client: 'sqlite', filename: dbFile };
    // Unavoidable work before and after the pipeline run: alternating, same run.
    const alone = [];
    for (let i = 0; i < Math.ceil(o.sizes.b8Unavoidable / 2); i++) alone.push(unavoidableMs(dir));
    const gitShim = o.countGit ? installGitShim(path.join(dir, 'git-count')) : null;
    let res;
    try {
      res = await pipelineRun({ dir, tasks, hosts: v.hosts, database, dbConfig, gitShim });
    } finally {
      if (v.kind === 'pg') {
        const db = await openDatabase({ client: 'pg', url });
        await db.knex.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await db.close();
      }
    }
    for (let i = 0; i < Math.floor(o.sizes.b8Unavoidable / 2); i++) alone.push(unavoidableMs(dir));
    const perTask = median(alone);
    const slots = SLOTS * v.hosts;
    const rate = (tasks * 60_000) / res.wallMs;
    const limit = (slots * 60_000) / perTask;
    o.log(`  B8 ${v.name}: ${tasks} tasks in ${(res.wallMs / 1000).toFixed(1)} s = ${rate.toFixed(1)} tasks/min; unavoidable work ${perTask.toFixed(0)} ms/task alone → limit ${limit.toFixed(1)} tasks/min on ${slots} slots`);
    for (const [k, d] of Object.entries(res.per)) o.log(`    ${k.padEnd(32)} p50 ${Math.round(pct(d, 50))} ms, p95 ${Math.round(pct(d, 95))} ms (${d.length})`);
    for (const l of phaseReport(res.phases)) o.log(l);
    let git = null;
    if (gitShim) {
      git = summarizeGit(readGitLog(gitShim.log), tasks);
      o.log(`    git processes: ${git.total.n} (${git.perTask.n.toFixed(1)} per task), ${Math.round(git.total.ms)} ms in total (${Math.round(git.perTask.ms)} ms per task); by place and command:`);
      for (const r of git.rows) o.log(`      ${r.key.padEnd(28)} ${String(r.n).padStart(6)} × ${(r.ms / r.n).toFixed(1).padStart(7)} ms = ${Math.round(r.ms).toString().padStart(7)} ms (${(r.n / tasks).toFixed(1)} per task)`);
    }
    out.push(line({ id: 'B8', metric: `tasks/min POST /tasks → done, no-op agents, ${tasks} tasks, ${v.name} (vs unavoidable git + process work on ${slots} slots)${gitShim ? ', git counted (shim on)' : ''}`, value: rate, baseline: limit, target: null, met: true }));
    out.at(-1).phases = phaseMedians(res.phases);
    if (git) out.at(-1).git = { perTask: git.perTask, byCommand: Object.fromEntries(git.rows.map((r) => [r.key, { n: r.n, ms: Math.round(r.ms) }])) };
    const all = Object.values(res.per).flat();
    const byEdge = Object.fromEntries(Object.entries(res.per).map(([k, d]) => [k, { p50: Math.round(pct(d, 50)), p95: Math.round(pct(d, 95)) }]));
    for (const p of [50, 95]) {
      out.push(line({ id: 'B8', metric: `stage transition ms p${p} over every edge, ${v.name} (per edge in "edges")`, value: pct(all, p), target: null, met: true }));
      out.at(-1).edges = byEdge;
    }
  }
  if (!url) {
    o.log('  B8 PostgreSQL variant skipped: CONVEYOR_TEST_PG_URL is not set');
    out.push(skipped('B8', 'tasks/min POST /tasks → done, PostgreSQL, 2 hosts', 'CONVEYOR_TEST_PG_URL not set'));
  }
  return out;
}
