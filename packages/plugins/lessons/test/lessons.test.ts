import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OwnedRoute, RouteRequest } from '@conveyor/core';
import { createTestConveyor, eventually, testDatabases, type TestConveyor } from '@conveyor/core/testing';
import { lessonsPlugin, LessonSlugs, type Lesson } from '../src/index.js';

const route = (kit: TestConveyor, method: string, url: string): OwnedRoute => kit.conveyor.routes.find((r) => r.method === method && r.url === url)!;
const call = (r: OwnedRoute, req: Partial<RouteRequest>) => r.handler({ params: {}, query: {}, headers: {}, body: undefined, ...req });

/** A review that requests changes once: review_approved fails and rolls back to development. */
function rollbackAgent() {
  let reviews = 0;
  return (req: { stage: string }) => {
    const fm: Record<string, unknown> = {};
    if (req.stage === 'review') fm.review_status = reviews++ === 0 ? 'changes_requested' : 'approved';
    return { artifact: { frontMatter: fm } };
  };
}

/** Runs a task with the worker until review rolls it back to development (CI is green on every head). */
async function runToRollback(kit: TestConveyor) {
  kit.conveyor.events.on('human.approval_needed', ({ task }) => void kit.conveyor.intake.humanVerdict(task.id, 'approved'));
  let greened = false;
  kit.conveyor.events.on('job.finished', async ({ job }) => {
    // Green CI for the first development run only: after the rollback the task then
    // waits for CI, quietly, instead of running on while the test tears down.
    if (job.stage !== 'development' || job.status !== 'done' || greened) return;
    greened = true;
    const task = (await kit.conveyor.store.tasks.get(job.taskId))!;
    const sha = (await kit.forge.branchHeadSha(task.repo, task.branch))!;
    await kit.conveyor.intake.ciStatus({ repo: task.repo, sha, branch: task.branch, context: 'ci', state: 'success', targetUrl: null });
  });
  await kit.conveyor.start();
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: '1', title: 'Fix login' });
  await kit.events.waitFor('gate.failed', (g) => g.rollbackTo === 'development', 20_000);
  await kit.events.waitFor('job.finished', (e) => e.job.stage === 'development' && kit.events.of('gate.failed').length > 0, 20_000);
  return task;
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} auto-detectors: a gate failure with rollback, an exhausted retry budget, a merge hold and a degraded deploy, each recorded once within the window, with attribution`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [lessonsPlugin], config: { worker: { enabled: true } }, agent: rollbackAgent() });
    t.after(() => kit.cleanup());
    const task = await runToRollback(kit);

    const events = kit.conveyor.events;
    events.emit('merge.deferred', { taskId: task.id, repo: 'acme/app', holder: 'task 7 on host-b' });
    events.emit('merge.deferred', { taskId: task.id, repo: 'acme/app', holder: 'task 7 on host-b' });
    events.emit('deploy.degraded', { taskId: task.id, repo: 'acme/app', reason: 'health check 503 ×3' });
    const job = (await kit.conveyor.store.jobs.listForTask(task.id))[0]!;
    events.emit('job.retry_exhausted', { job: { ...job, stage: 'development', role: 'developer', retries: 2 }, error: 'tests would not compile' });
    events.emit('gate.failed', { taskId: task.id, stage: 'review', gate: 'review_approved', reason: 'again', rollbackTo: 'development' });
    events.emit('gate.failed', { taskId: task.id, stage: 'analysis', gate: 'artifact_present', reason: 'no artefact' });

    const list = route(kit, 'GET', '/lessons');
    // Listeners run after emit returns: wait for the journal to hold all four.
    const lessons = await eventually(async () => {
      const got = ((await call(list, { query: { limit: 50 } })).body as { lessons: Lesson[] }).lessons;
      return got.length >= 4 ? got : null;
    }, 10_000, 'four lessons') as Lesson[];
    const bySlug = Object.fromEntries(lessons.map((l) => [l.slug, l]));
    assert.deepEqual(Object.keys(bySlug).sort(), [
      LessonSlugs.deployDegraded('acme/app'), LessonSlugs.gateFailure('review_approved', 'review'), LessonSlugs.mergeHold('acme/app'), LessonSlugs.retryExhausted('developer', 'development'),
    ].sort(), 'each once; a failure without rollback is no lesson');
    const gate = bySlug['gate_failure:review_approved:review']!;
    assert.deepEqual([gate.source, gate.kind, gate.repo, gate.taskId, gate.stage, gate.status, gate.agent, gate.model, typeof gate.runId], ['auto', 'gate_failure', 'acme/app', task.id, 'review', 'open', 'reviewer', 'sonnet-4', 'number']);
    assert.match(gate.body, /review_status is "changes_requested"/);
    assert.equal(bySlug['merge_hold:acme/app']!.agent, null, 'no agent behind a merge hold: attribution stays null');
    assert.equal(bySlug['retry_exhausted:developer:development']!.title, 'developer at development failed 3 times');
  });

  test(`${t0} GET /lessons filters and limits; POST /lessons records a manual one; POST /lessons/:id updates it`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [lessonsPlugin], config: { plugins: { lessons: { defaultLimit: 2 } } } });
    t.after(() => kit.cleanup());
    const post = route(kit, 'POST', '/lessons');
    assert.equal(post.auth, 'token');
    for (const [title, repo] of [['Pin the CI image', 'acme/app'], ['Lock files drift', 'acme/app'], ['Staging is flaky', 'acme/web']] as const) {
      const res = await call(post, { body: { title, repo, body: 'why' } });
      assert.equal(res.status, 201);
    }
    const list = route(kit, 'GET', '/lessons');
    assert.equal(list.schema?.querystring !== undefined, true);
    const all = (await call(list, { query: { limit: 2 } })).body as { enabled: boolean; lessons: Lesson[] };
    assert.equal(all.enabled, true);
    assert.deepEqual(all.lessons.map((l) => l.title), ['Staging is flaky', 'Lock files drift'], 'newest first, limited');
    const app = (await call(list, { query: { repo: 'acme/app', limit: 50 } })).body as { lessons: Lesson[] };
    assert.deepEqual(app.lessons.map((l) => [l.title, l.source, l.kind, l.slug]), [
      ['Lock files drift', 'manual', 'manual', 'manual:lock-files-drift'],
      ['Pin the CI image', 'manual', 'manual', 'manual:pin-the-ci-image'],
    ]);
    const id = app.lessons[0]!.id;
    const upd = await call(route(kit, 'POST', '/lessons/:id'), { params: { id }, body: { status: 'resolved' } });
    assert.equal(upd.status, 200);
    assert.equal((upd.body as { lesson: Lesson }).lesson.status, 'resolved');
    const resolved = (await call(list, { query: { status: 'resolved', limit: 50 } })).body as { lessons: Lesson[] };
    assert.deepEqual(resolved.lessons.map((l) => l.id), [id]);
    assert.equal((await call(route(kit, 'POST', '/lessons/:id'), { params: { id: 9999 }, body: { status: 'resolved' } })).status, 404);
  });

  test(`${t0} an observer only: a lessons store that fails (its table gone) changes no transition, and nothing throws`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [lessonsPlugin], config: { worker: { enabled: true } }, agent: rollbackAgent() });
    t.after(() => kit.cleanup());
    await kit.conveyor.db.knex.schema.dropTable('lessons');
    const task = await runToRollback(kit);
    const transitions = await kit.conveyor.store.tasks.transitions(task.id);
    assert.ok(transitions.some((x) => x.from === 'review' && x.to === 'development' && x.reason === 'rollback: review_approved failed'), 'the rollback happened as without the plugin');
    // The detector runs after the emit returned: wait for its logged failure.
    await eventually(() => kit.logger.lines.some((l) => l.level === 'error' && /lessons store failed/.test(l.msg ?? '')), 5_000, 'the logged store failure');
    assert.equal(kit.events.of('listener.error').length, 0, 'the store swallowed its own failure');
    const res = await call(route(kit, 'GET', '/lessons'), { query: { limit: 5 } });
    assert.deepEqual(res.body, { enabled: true, lessons: [] });
  });

  test(`${t0} disabled: no table, no listeners, no routes but GET /lessons answering {"enabled": false}`, async (t) => {
    const on = await createTestConveyor({ dialect, plugins: [lessonsPlugin] });
    t.after(() => on.cleanup());
    const kit = await createTestConveyor({ dialect, plugins: [lessonsPlugin], config: { plugins: { lessons: { enabled: false } } } });
    t.after(() => kit.cleanup());
    assert.equal(kit.conveyor.extensions.listenerDisposers.length, 0);
    assert.deepEqual(kit.conveyor.routes.map((r) => `${r.method} ${r.url} ${r.plugin}`), ['GET /lessons lessons']);
    assert.deepEqual((await call(route(kit, 'GET', '/lessons'), {})).body, { enabled: false });
    assert.ok(!kit.conveyor.migrationsRun.includes('lessons/0001_lessons'));
    assert.ok(on.conveyor.extensions.listenerDisposers.length >= 4, 'enabled: the detectors listen');
  });
}
