import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ManualClock, createTestConveyor, eventually, testDatabases } from '@conveyor/core/testing';
import { deployStatusGuardPlugin } from '@conveyor/plugin-deploy-status-guard';
import { WindowStore, postDeployMonitorPlugin } from '@conveyor/plugin-post-deploy-monitor';
import { FreezeStore, serialGatePlugin } from '@conveyor/plugin-serial-gate';

const verdicts: Record<string, Record<string, unknown>> = {
  review: { review_status: 'approved' },
  testing: { tests_status: 'passed' },
  'deploy-staging': { staging_status: 'ok' },
  deploy: { deploy_status: 'ok' },
};

/** The deployed service's health endpoint: down, so the deploy degrades. */
async function downService(): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.writeHead(503).end('down');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/health`, hits: () => hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

for (const dialect of testDatabases()) {
  test(`[${dialect}] deploy phases end to end: confirmation, Deploying, the post-deploy window, a degraded deploy freezes the repo, Done stays Done`, async (t) => {
    const service = await downService();
    const clock = new ManualClock(Date.now());
    const kit = await createTestConveyor({
      dialect,
      clock,
      plugins: [serialGatePlugin, deployStatusGuardPlugin, postDeployMonitorPlugin],
      config: {
        worker: { enabled: true },
        deploy: { confirm: true },
        repos: { 'acme/app': {} },
        plugins: {
          'serial-gate': { enabled: true },
          'post-deploy-monitor': { checks: { 'acme/app': { url: service.url } }, windowMs: 3_600_000, intervalMs: 20, failuresToDegrade: 2 },
        },
      },
      agent: (req) => ({ artifact: { frontMatter: verdicts[req.stage] ?? {} } }),
    });
    t.after(async () => {
      await kit.cleanup();
      await service.close();
    });
    const { conveyor } = kit;
    conveyor.events.on('job.finished', async ({ job }) => {
      if (job.stage !== 'development') return;
      const task = (await conveyor.store.tasks.get(job.taskId))!;
      await conveyor.intake.ciStatus({ repo: task.repo, sha: kit.forge.heads.get(`${task.repo}:${task.branch}`)!, branch: task.branch, context: 'ci', state: 'success', targetUrl: null });
    });
    conveyor.events.on('human.approval_needed', ({ task }) => void conveyor.intake.humanVerdict(task.id, 'approved'));
    await conveyor.start();
    const statuses = () => kit.tracker.statuses.filter((s) => s.ref.trackerIssueId === 'P-1').map((s) => s.status);

    const { task } = await conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'P-1', title: 'Ship it' });
    await kit.events.waitFor('task.stage_changed', (p) => p.task.id === task.id && p.to === 'deploy', 20_000);
    await eventually(() => statuses().includes('Awaiting Deploy'), 5_000, 'Awaiting Deploy');
    const waiting = await conveyor.waiting.forTask((await conveyor.store.tasks.get(task.id))!);
    assert.equal(waiting.reasons[0]?.kind, 'deploy_confirmation');
    assert.equal(statuses().includes('Deploying'), false);

    assert.equal((await conveyor.intake.trackerStatus({ repo: 'acme/app', trackerIssueId: 'P-1', status: 'Confirm Deploy' })).action, 'deploy_confirmed');
    await kit.events.waitFor('task.done', (p) => p.task.id === task.id, 20_000);
    await eventually(() => statuses().includes('Monitoring after Deploy'), 5_000, 'Monitoring after Deploy');
    const windows = new WindowStore(conveyor.db.knex);
    assert.equal((await windows.get(task.id))?.status, 'active');

    // The service is down: two checks in a row fail and the deploy is degraded.
    for (let i = 1; i <= 2; i++) {
      clock.advance(60_000);
      await eventually(async () => (await windows.get(task.id))!.checks === i, 10_000, `check ${i}`);
    }
    const degraded = await kit.events.waitFor('deploy.degraded', (p) => p.taskId === task.id);
    assert.match(degraded.reason, /health check failed 2 times in a row/);
    const freezes = new FreezeStore(conveyor.db.knex, clock);
    await eventually(async () => (await freezes.get('acme/app')) !== null, 5_000, 'the freeze');
    await eventually(() => statuses().at(-1) === 'Done', 5_000, 'Done');
    assert.deepEqual(statuses(), ['In Review', 'Awaiting Deploy', 'Deploying', 'Monitoring after Deploy', 'Done']);

    // A stale deploy-phase write after all that: Done stays Done.
    assert.equal(await conveyor.deployStatus.set(task.id, 'awaitingDeploy', { caller: 'stale', reason: 'replayed (test)' }), 'CONVERGE_DONE');
    assert.equal(statuses().at(-1), 'Done');
    assert.equal(service.hits(), 2);
  });
}
