import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createConveyor, type Conveyor, type Task } from '@conveyor/core';
import { EventRecorder, RecordingLogger, RecordingNotifier, TempWorkspace, createTestConveyor, eventually, taskAtStage, testDatabases, type TestConveyor, type TestDialect } from '@conveyor/core/testing';
import { CoreTokens } from '@conveyor/core';
import { agentScriptPlugin } from '@conveyor/plugin-agent-script';
import { cancelPlugin } from '@conveyor/plugin-cancel';

const REPO = 'acme/app';

/**
 * The developer "agent": writes its pid, starts a child in a session of its own
 * (out of reach of a process-group kill) that writes its pid, and waits on it.
 */
function agentCommand(dir: string): string {
  return `echo $$ > "${dir}/agent.pid"; setsid /bin/sh -c 'echo $$ > "${dir}/bg.pid"; exec sleep 1000' & wait`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function pids(dir: string): Promise<{ agent: number; bg: number }> {
  const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? Number(fs.readFileSync(path.join(dir, f), 'utf8').trim()) : 0);
  return (await eventually(() => (read('agent.pid') && read('bg.pid') ? { agent: read('agent.pid'), bg: read('bg.pid') } : null), 10_000, 'the agent and its background process'))!;
}

function pluginConfig(dir: string): Record<string, unknown> {
  return {
    // Only the developer is the long-lived agent; a fresh task's analyst ends at once.
    'agent-script': { commands: { developer: agentCommand(dir) }, defaultCommand: 'exit 0', logDir: path.join(dir, 'logs'), killGraceMs: 200 },
    cancel: { sweepIntervalMs: 50, killGraceMs: 500 },
  };
}

async function developing(kit: TestConveyor | { conveyor: Conveyor }, task: Task): Promise<void> {
  const job = await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'development', kind: 'agent', role: 'developer' });
  kit.conveyor.events.emit('job.enqueued', { job: job! });
}

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cancel-e2e-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function killLeftovers(t: { after: (fn: () => void) => void }, dir: string): void {
  t.after(() => {
    for (const f of ['agent.pid', 'bg.pid']) {
      const p = fs.existsSync(path.join(dir, f)) ? Number(fs.readFileSync(path.join(dir, f), 'utf8')) : 0;
      if (p && alive(p)) process.kill(p, 'SIGKILL');
    }
  });
}

async function kitFor(dialect: TestDialect, dir: string, extra: Record<string, unknown> = {}): Promise<TestConveyor> {
  return createTestConveyor({
    dialect,
    plugins: [cancelPlugin, agentScriptPlugin],
    config: { repos: { [REPO]: {} }, worker: { enabled: true }, plugins: pluginConfig(dir), ...extra },
  });
}

for (const dialect of testDatabases()) {
  test(`[${dialect}] STOP during a running developer whose agent started a process in its own session: every process gone, branch gone, task cancelled, a new "To Analyse" starts fresh`, async (t) => {
    const dir = scratch(t);
    killLeftovers(t, dir);
    const kit = await kitFor(dialect, dir);
    t.after(() => kit.cleanup());
    const { conveyor } = kit;
    const task = await taskAtStage(kit, REPO, 'ISSUE-9', 'development');
    kit.forge.setHead(REPO, task.branch, 'abc123');
    await developing(kit, task);
    await conveyor.start();
    const { agent, bg } = await pids(dir);
    assert.ok(alive(agent) && alive(bg));
    await eventually(async () => (await conveyor.store.jobs.activeForTask(task.id))?.pid === agent, 5_000, 'the agent pid stamped');

    const res = await conveyor.intake.requestStop(task.id);
    assert.equal(res.state, 'applied', res.detail);
    assert.equal(alive(agent), false, 'the agent is gone');
    assert.equal(alive(bg), false, 'its process in another session is gone too');
    assert.deepEqual(kit.forge.deleted, [`${REPO}:${task.branch}`]);
    const after = (await conveyor.store.tasks.get(task.id))!;
    assert.equal(after.stage, 'cancelled');
    await eventually(() => conveyor.worker.running === 0, 5_000, 'the worker let go of the job');
    assert.ok((await conveyor.store.jobs.listForTask(task.id)).every((j) => j.status === 'done' || j.status === 'cancelled'));

    const again = await conveyor.intake.trackerStatus({ repo: REPO, trackerIssueId: 'ISSUE-9', status: 'To Analyse', title: 'task ISSUE-9' });
    assert.equal(again.action, 'created');
    assert.notEqual(again.taskId, task.id);
    assert.equal((await conveyor.store.tasks.get(again.taskId!))!.stage, 'analysis');
  });
}

if (testDatabases().includes('pg')) {
  test('[pg] two hosts: a STOP received by one host stops the agent running on the other', async (t) => {
    const dir = scratch(t);
    killLeftovers(t, dir);
    // Host A only receives the STOP (its worker is off); its view of B's heartbeat is generous.
    const a = await kitFor('pg', dir, { instance: { hostId: 'host-a' }, worker: { enabled: false, heartbeatIntervalMs: 2_000 } });
    t.after(() => a.cleanup());
    const logger = new RecordingLogger();
    const b: Conveyor = await createConveyor({
      config: {
        instance: { hostId: 'host-b', dataDir: path.join(dir, 'b') },
        database: { ...a.conveyor.config.database, url: '${CONVEYOR_TEST_PG_URL}' },
        workspaces: { sandbox: 'none' },
        worker: { enabled: true, pollIntervalMs: 20, heartbeatIntervalMs: 50 },
        repos: { [REPO]: {} },
        plugins: pluginConfig(dir),
      },
      plugins: [cancelPlugin, agentScriptPlugin],
      logger,
      env: { CONVEYOR_TEST_PG_URL: process.env.CONVEYOR_TEST_PG_URL },
      bindings: (c) => {
        c.register(CoreTokens.Forge, { useValue: a.forge });
        c.register(CoreTokens.Workspace, { useValue: new TempWorkspace() });
        c.register(CoreTokens.Notifier, { useValue: new RecordingNotifier() });
      },
    });
    t.after(() => b.stop());
    const bEvents = new EventRecorder(b.events);
    t.after(() => bEvents.dispose());

    const task = await taskAtStage(a, REPO, 'ISSUE-10', 'development');
    a.forge.setHead(REPO, task.branch, 'def456');
    await a.conveyor.start();
    await b.start();
    await developing(a, task);
    b.worker.wake();
    const { agent, bg } = await pids(dir);
    const job = (await a.conveyor.store.jobs.activeForTask(task.id))!;
    assert.equal(job.hostId, 'host-b');

    const res = await a.conveyor.intake.requestStop(task.id);
    assert.equal(res.state, 'pending');
    assert.match(res.detail, /runs on host host-b/);
    await bEvents.waitFor('task.cancelled', undefined, 10_000);
    assert.equal(alive(agent), false);
    assert.equal(alive(bg), false, 'host B killed its agent\'s whole tree');
    const after = (await a.conveyor.store.tasks.get(task.id))!;
    assert.equal(after.stage, 'cancelled');
    assert.equal((await a.conveyor.store.jobs.get(job.id))!.status, 'cancelled');
    assert.deepEqual(a.forge.deleted, [`${REPO}:${task.branch}`]);
  });
}
