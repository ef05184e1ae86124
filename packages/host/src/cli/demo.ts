import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConveyor, formatCostSummary, git, summarizeCosts, type Conveyor, type Task } from '@conveyor/core';
import { pino } from 'pino';
import { exitLikeSignal } from '../server/signals.js';
import { BUNDLED_PLUGINS } from '../all-bundled-plugins.js';
import { DEMO_AGENT, DEMO_AGENT_ENV, embeddedConfig } from '../embedded.js';
import { elapsed, type Output } from './output.js';

export interface DemoOptions {
  json?: boolean;
  keep?: boolean;
  dir?: string;
  title?: string;
  timeoutMs?: number;
}

export interface DemoResult {
  task: string;
  final_stage: string;
  stages: string[];
  merged: boolean;
  cost_usd: number;
}

/**
 * `conveyor demo`: makes a demo repository, files one task through the local
 * tracker, and lets the scripted agents carry it through every stage to a merge
 * into main, printing each step as it happens and the cost summary at the end.
 */
export async function runDemo(opts: DemoOptions, io: Output): Promise<number> {
  const dir = opts.dir ? path.resolve(opts.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-demo-'));
  const started = Date.now();
  // With --json, stdout carries only the JSON line: progress goes to stderr.
  const say = (line: string) => (opts.json ? io.err(line) : io.out(line));
  const log = (line: string) => say(`${elapsed(started)} ${line}`);
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'conveyor.log');
  const conveyor = await createConveyor({
    config: embeddedConfig({ dataDir: dir, maxConcurrency: 1, autoApprove: true }),
    plugins: BUNDLED_PLUGINS,
    logger: pino({ level: 'info' }, pino.destination({ dest: logFile, sync: true })),
    env: { ...process.env, [DEMO_AGENT_ENV]: DEMO_AGENT },
  });
  // Ctrl-C must not leave a throwaway demo directory (database, repositories, logs) behind.
  // Installed with `on`, not `once`: execa's cleanup re-raises a signal nobody else listens to.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    void conveyor
      .stop({ deadlineMs: 2_000 })
      .catch(() => undefined)
      .then(() => {
        if (!opts.keep && !opts.dir) fs.rmSync(dir, { recursive: true, force: true });
        exitLikeSignal(signal);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let taskId = 0;
  watch(conveyor, () => taskId, log);
  let outcome: DemoResult | null = null;
  try {
    await conveyor.start();
    log(`demo repository: ${path.join(dir, 'origin', 'demo.git')}`);
    const create = conveyor.routes.find((r) => r.method === 'POST' && r.url === '/tasks')!;
    const res = await create.handler({ params: {}, query: {}, headers: {}, body: { title: opts.title ?? 'Add a greeting' } });
    const task = (res.body as { task: Task }).task;
    taskId = task.id;
    log(`task ${task.workItemId} filed: "${task.title}" on branch ${task.branch}`);
    const final = await waitForEnd(conveyor, task.id, opts.timeoutMs ?? 300_000);
    const runs = await conveyor.store.agentRuns.listForTask(task.id);
    const summary = summarizeCosts(runs);
    const merged = final.mergedAt !== null && (await mainContainsDeveloperCommit(dir, final));
    say('');
    say(`${formatCostSummary(final.workItemId, summary)}\n(simulated: the demo's scripted agents call no model; the figures are what the real agents would report)`);
    say(`${final.workItemId} ended at "${final.stage}"${final.blockedReason ? ` (blocked: ${final.blockedReason})` : ''}; merged into main: ${merged ? 'yes' : 'no'}`);
    outcome = {
      task: final.workItemId,
      final_stage: final.stage,
      stages: ['analysis', ...(await conveyor.store.tasks.transitions(task.id)).map((x) => x.to)],
      merged,
      cost_usd: Number(summary.total.costUsd.toFixed(4)),
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await conveyor.stop({ deadlineMs: 5_000 });
    if (opts.keep || opts.dir) say(`kept ${dir} (log: ${logFile})`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  if (opts.json) io.out(JSON.stringify(outcome));
  return outcome?.final_stage === 'done' && outcome.merged ? 0 : 1;
}

function watch(conveyor: Conveyor, taskId: () => number, log: (line: string) => void): void {
  const mine = (id: number) => id === taskId();
  conveyor.events.on('agent.started', ({ job }) => void (mine(job.taskId) && log(`  ${job.stage}: ${job.role} started`)));
  conveyor.events.on('agent.finished', ({ job, exitCode, costUsd }) => void (mine(job.taskId) && log(`  ${job.stage}: ${job.role} finished (exit ${exitCode ?? '—'}${costUsd !== null ? `, $${costUsd.toFixed(4)}` : ''})`)));
  conveyor.events.on('human.approval_needed', ({ task }) => void (mine(task.id) && log(`  analysis ready: approved (the demo's local tracker stands in for a person)`)));
  let lastWait = '';
  conveyor.events.on('gate.evaluated', (e) => {
    if (!mine(e.taskId) || e.readOnly || e.verdict !== 'pending' || e.gate !== 'ci_green' || e.reason === lastWait) return;
    lastWait = e.reason ?? '';
    log(`  ${e.stage}: waiting for CI (${lastWait})`);
  });
  conveyor.events.on('gate.failed', (e) => void (mine(e.taskId) && log(`  ${e.stage}: gate ${e.gate} failed${e.rollbackTo ? ` → back to ${e.rollbackTo}` : ''}: ${e.reason ?? ''}`)));
  conveyor.events.on('task.stage_changed', ({ task, from, to }) => void (mine(task.id) && log(`${task.workItemId} ${from} → ${to}`)));
  conveyor.events.on('merge.completed', (e) => void (mine(e.taskId) && log(`  merged into main`)));
}

async function waitForEnd(conveyor: Conveyor, id: number, timeoutMs: number): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = (await conveyor.store.tasks.get(id))!;
    if (task.stage === 'done' || task.stage === 'cancelled' || task.blockedReason || Date.now() > deadline) return task;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function mainContainsDeveloperCommit(dir: string, task: Task): Promise<boolean> {
  const origin = path.join(dir, 'origin', 'demo.git');
  const log = await git(['log', '--format=%s', 'main'], { cwd: origin, allowFailure: true });
  return log.exitCode === 0 && log.stdout.split('\n').includes(`${task.workItemId}: ${task.title}`);
}
