import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MERGE_TAKEOVER_MS } from '../src/finalize/merge-gate-core.js';
import { CoreTokens } from '../src/tokens.js';
import type { Task } from '../src/domain.js';
import { createTestConveyor, FakeForge, taskAtStage, testDatabases, type TestConveyor, type TestDialect } from '../src/testing/index.js';

/** A forge that counts merge calls and can be unreachable (an ambiguous 503 on every read). */
class CountingForge extends FakeForge {
  merges = 0;
  down = false;
  override async getPullRequest(repo: string, number: number) {
    if (this.down) throw Object.assign(new Error('503 Service Unavailable'), { status: 503 });
    return super.getPullRequest(repo, number);
  }
  override async mergePullRequest(repo: string, number: number, options?: { headSha?: string | null }) {
    this.merges++;
    return super.mergePullRequest(repo, number, options);
  }
}

/**
 * A task at deploy whose deployer succeeded and whose merge Conveyor started
 * (`markerAgeMs` ago) when the process died: the state a restart finds.
 */
async function interruptedMerge(dialect: TestDialect, o: { markerAgeMs: number; mergedOnForge: boolean }): Promise<{ kit: TestConveyor; forge: CountingForge; task: Task }> {
  const kit = await createTestConveyor({ dialect });
  const forge = new CountingForge();
  kit.conveyor.container.register(CoreTokens.Forge, { useValue: forge });
  const task = await taskAtStage(kit, 'acme/app', 'PL-1', 'deploy');
  const s = kit.conveyor.store;
  const job = (await s.jobs.enqueue({ taskId: task.id, stage: 'deploy', kind: 'agent', role: 'deployer', reason: 'test' }))!;
  await kit.conveyor.db.knex('jobs').where({ id: job.id }).update({ status: 'done' });
  const run = await s.agentRuns.start({ jobId: job.id, taskId: task.id, stage: 'deploy', role: 'deployer', attempt: 1, pid: null });
  await s.agentRuns.recordExit(run.id, { exitCode: 0, result: 'deployed', usage: null, logPath: null });
  kit.artifacts.put(task, 'deploy', { deploy_status: 'ok' });
  forge.setHead('acme/app', task.branch, 'a'.repeat(40));
  const pr = await forge.ensurePullRequest({ repo: 'acme/app', head: task.branch, base: 'main', title: 't', body: '' });
  await s.tasks.setPullRequest(task.id, pr.number, pr.url);
  if (o.mergedOnForge) pr.merged = true;
  await kit.conveyor.db.knex('tasks').where({ id: task.id }).update({ merge_initiated_at: Date.now() - o.markerAgeMs });
  return { kit, forge, task };
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} start-up: a merge that landed before the crash completes the task, without merging again`, async (t) => {
    const { kit, forge, task } = await interruptedMerge(dialect, { markerAgeMs: 1_000, mergedOnForge: true });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const after = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(after.stage, 'done');
    assert.ok(after.mergedAt);
    assert.equal(forge.merges, 0, 'the forge was asked, not told to merge');
    assert.equal(kit.events.of('merge.completed').length, 1);
  });

  test(`${t0} start-up: a merge that never landed, its marker stale, is merged exactly once even when two re-drives race`, async (t) => {
    const { kit, forge, task } = await interruptedMerge(dialect, { markerAgeMs: MERGE_TAKEOVER_MS + 1_000, mergedOnForge: false });
    t.after(() => kit.cleanup());
    const { redriveInitiatedMerges } = await import('../src/finalize/merge-recovery.js');
    const deps = { tasks: kit.conveyor.store.tasks, jobs: kit.conveyor.store.jobs, engine: kit.conveyor.engine, pipeline: kit.conveyor.pipeline, logger: kit.logger };
    // Another host's reconciler re-drives at the same moment as this host's start.
    await Promise.all([kit.conveyor.start(), redriveInitiatedMerges(deps, 'a racing re-drive')]);
    assert.equal(forge.merges, 1, 'merged once');
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'done');
  });

  test(`${t0} the re-drive walks every live task a page at a time and picks out each interrupted merge at a merge stage, once`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const knex = kit.conveyor.db.knex;
    const at = async (issue: string, stage: string, marks: Record<string, unknown> = {}) => {
      const task = await taskAtStage(kit, 'acme/app', issue, stage);
      if (Object.keys(marks).length) await knex('tasks').where({ id: task.id }).update(marks);
      return task.id;
    };
    const initiated = { merge_initiated_at: Date.now() - 60_000 };
    const want = [await at('A', 'deploy', initiated)];
    await at('B', 'development', initiated); // not a merge stage
    await at('C', 'deploy'); // no merge started
    await at('D', 'deploy', { ...initiated, merged_at: Date.now() }); // merged already
    await at('E', 'deploy', { ...initiated, blocked_reason: 'held' }); // blocked
    want.push(await at('F', 'deploy', initiated));
    await at('G', 'deploy', { ...initiated, stage: 'done' }); // ended
    want.push(await at('H', 'deploy', initiated));
    const { redriveInitiatedMerges } = await import('../src/finalize/merge-recovery.js');
    const deps = { tasks: kit.conveyor.store.tasks, jobs: kit.conveyor.store.jobs, engine: kit.conveyor.engine, pipeline: kit.conveyor.pipeline, logger: kit.logger, pageSize: 2 };
    const offered: number[] = [];
    // The guard declines: this test looks at the selection, not at the merge.
    await redriveInitiatedMerges(deps, 'test', async (taskId) => {
      offered.push(taskId);
      return null;
    });
    assert.deepEqual(offered, want);
  });

  test(`${t0} start-up: the forge cannot be asked (503): the marker stays, the task stays at deploy, nothing merges`, async (t) => {
    const { kit, forge, task } = await interruptedMerge(dialect, { markerAgeMs: MERGE_TAKEOVER_MS + 1_000, mergedOnForge: false });
    t.after(() => kit.cleanup());
    forge.down = true;
    await kit.conveyor.start();
    const after = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(after.stage, 'deploy');
    assert.ok(after.mergeInitiatedAt, 'the INITIATED marker is kept');
    assert.equal(after.mergedAt, null);
    assert.equal(forge.merges, 0);
    // The forge answers again: the next re-drive (a PR-merged webhook, the reconciler) completes it.
    forge.down = false;
    const { redriveInitiatedMerges } = await import('../src/finalize/merge-recovery.js');
    await redriveInitiatedMerges({ tasks: kit.conveyor.store.tasks, jobs: kit.conveyor.store.jobs, engine: kit.conveyor.engine, pipeline: kit.conveyor.pipeline, logger: kit.logger }, 'the reconciler');
    assert.equal(forge.merges, 1);
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'done');
  });

  test(`${t0} start-up: a fresh marker on an unmerged PR may be another host's merge in flight: left pending, not merged`, async (t) => {
    const { kit, forge, task } = await interruptedMerge(dialect, { markerAgeMs: 1_000, mergedOnForge: false });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    assert.equal(forge.merges, 0);
    const after = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(after.stage, 'deploy');
    assert.ok(after.mergeInitiatedAt);
  });

  test(`${t0} a PR-merged webhook at deploy, the marker set: the task completes once`, async (t) => {
    const { kit, forge, task } = await interruptedMerge(dialect, { markerAgeMs: 1_000, mergedOnForge: true });
    t.after(() => kit.cleanup());
    const [a, b] = await Promise.all([
      kit.conveyor.intake.pullRequestMerged({ repo: 'acme/app', branch: task.branch, number: 1 }),
      kit.conveyor.intake.pullRequestMerged({ repo: 'acme/app', branch: task.branch, number: 1 }),
    ]);
    assert.deepEqual([a.action, b.action].sort(), ['done', 'ignored']);
    assert.equal(forge.merges, 0);
    assert.equal(kit.events.of('task.done').length, 1);
  });
}
