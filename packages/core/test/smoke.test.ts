import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestConveyor, testDatabases } from '../src/testing/index.js';

for (const dialect of testDatabases()) {
  test(`[${dialect}] a task runs through the default pipeline with fakes`, async (t) => {
    const kit = await createTestConveyor({
      dialect,
      config: { worker: { enabled: true } },
      agent: (req) => {
        const fm: Record<string, unknown> = {};
        if (req.stage === 'review') fm.review_status = 'approved';
        if (req.stage === 'testing') fm.tests_status = 'passed';
        if (req.stage === 'deploy-staging') fm.staging_status = 'ok';
        if (req.stage === 'deploy') fm.deploy_status = 'ok';
        return { artifact: { frontMatter: fm } };
      },
    });
    t.after(() => kit.cleanup());
    const { conveyor } = kit;
    await conveyor.start();
    const { task } = await conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'I-1', title: 'Fix login' });
    await kit.events.waitFor('human.approval_needed');
    await conveyor.intake.humanVerdict(task.id, 'approved');
    await kit.events.waitFor('task.stage_changed', (e) => e.to === 'development');
    await kit.events.waitFor('job.finished', (e) => e.job.stage === 'development');
    kit.forge.setHead('acme/app', task.branch, 'abc123');
    await conveyor.intake.ciStatus({ repo: 'acme/app', sha: 'abc123', branch: task.branch, context: 'ci', state: 'success', targetUrl: null });
    await kit.events.waitFor('task.done');
    const final = await conveyor.store.tasks.get(task.id);
    assert.equal(final!.stage, 'done');
    assert.equal(task.workItemId, 'ET-001');
    assert.equal(task.branch, 'et-001-fix-login');
  });
}
