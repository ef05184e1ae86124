import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '@conveyor/host';
import { createTestConveyor, testDatabases } from '@conveyor/core/testing';

const verdicts: Record<string, Record<string, unknown>> = {
  review: { review_status: 'approved' },
  testing: { tests_status: 'passed' },
  'deploy-staging': { staging_status: 'ok' },
  deploy: { deploy_status: 'ok' },
};

for (const dialect of testDatabases()) {
  test(`[${dialect}] three tasks run the whole default pipeline to done with the worker`, async (t) => {
    let reviews = 0;
    const kit = await createTestConveyor({
      dialect,
      config: { worker: { enabled: true, maxConcurrency: 2 } },
      agent: (req) => {
        // The first review asks for changes: the task goes back to development once.
        if (req.stage === 'review' && reviews++ === 0) return { artifact: { frontMatter: { review_status: 'changes_requested' }, body: 'rename the flag' } };
        return { artifact: { frontMatter: verdicts[req.stage] ?? {} } };
      },
    });
    t.after(() => kit.cleanup());
    const { conveyor } = kit;
    // CI is green for whatever head a branch has.
    conveyor.events.on('job.finished', async ({ job }) => {
      if (job.stage !== 'development') return;
      const task = (await conveyor.store.tasks.get(job.taskId))!;
      const sha = `sha-${task.id}-${job.id}`;
      kit.forge.setHead(task.repo, task.branch, sha);
      await conveyor.intake.ciStatus({ repo: task.repo, sha, branch: task.branch, context: 'ci', state: 'success', targetUrl: null });
    });
    conveyor.events.on('human.approval_needed', ({ task }) => void conveyor.intake.humanVerdict(task.id, 'approved'));
    await conveyor.start();
    const created = await Promise.all(['Login', 'Logout', 'Signup'].map((title, i) => conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: `P-${i}`, title })));
    await kit.events.waitFor('task.done', () => kit.events.of('task.done').length === 3, 20_000);
    for (const { task } of created) {
      const final = (await conveyor.store.tasks.get(task.id))!;
      assert.equal(final.stage, 'done');
      const path = (await conveyor.store.tasks.transitions(task.id)).map((x) => x.to);
      assert.equal(path.at(-1), 'done');
      assert.ok(path.includes('deploy'));
    }
    assert.equal(kit.events.of('gate.failed').filter((e) => e.rollbackTo === 'development').length, 1);
    const counts = await conveyor.store.jobs.countByStatus();
    assert.equal((counts.queued ?? 0) + (counts.running ?? 0), 0);
    assert.equal(counts.failed, 0);
  });
}

test('the host loads a YAML config file with ${ENV} secrets and CONVEYOR_ overrides', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-host-'));
  try {
    fs.writeFileSync(path.join(dir, 'conveyor.config.yaml'), 'database:\n  client: pg\n  url: ${PG}\nworker:\n  maxConcurrency: 3\n');
    const { config, file } = loadConfig({ cwd: dir, env: { PG: 'postgres://h/db', CONVEYOR_WORKER_POLL_INTERVAL_MS: '250' } });
    assert.equal(file, path.join(dir, 'conveyor.config.yaml'));
    assert.equal(config.database.url, 'postgres://h/db');
    assert.equal(config.worker.maxConcurrency, 3);
    assert.equal(config.worker.pollIntervalMs, 250);
    fs.writeFileSync(path.join(dir, 'conveyor.config.yaml'), 'worker:\n  maxConcurrency: -1\n');
    assert.throws(() => loadConfig({ cwd: dir, env: {} }), (err: Error) => err.message.includes('conveyor.config.yaml') && err.message.includes('worker.maxConcurrency: expected integer ≥ 1, found -1'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
