import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import 'reflect-metadata';
import { createConveyor, git, type OwnedRoute } from '@conveyor/core';
import { dropTestSchema, eventually, EventRecorder, PG_URL_ENV, RecordingLogger, testDatabases } from '@conveyor/core/testing';
import { BUNDLED_PLUGINS, embeddedConfig } from '@conveyor/host';
import { TrackerLocalTokens, type LocalTracker } from '@conveyor/plugin-tracker-local';

const post = (routes: readonly OwnedRoute[], url: string) => routes.find((r) => r.method === 'POST' && r.url === url)!;

for (const dialect of testDatabases()) {
  test(`[${dialect}] the embedded default carries three tasks at once (maxConcurrency 2) to merged main`, { timeout: 180_000 }, async (t) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-e2e-'));
    const schema = `e2e_${Date.now().toString(36)}`;
    const config = embeddedConfig({ dataDir, maxConcurrency: 2, autoApprove: true });
    if (dialect === 'pg') config.database = { client: 'pg', url: `\${${PG_URL_ENV}}`, schema };
    const conveyor = await createConveyor({ config, plugins: BUNDLED_PLUGINS, logger: new RecordingLogger(), env: { [PG_URL_ENV]: process.env[PG_URL_ENV] } });
    const events = new EventRecorder(conveyor.events);
    t.after(async () => {
      await conveyor.stop();
      if (dialect === 'pg') {
        await dropTestSchema(schema);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    let running = 0;
    let peak = 0;
    conveyor.events.on('agent.started', () => void (peak = Math.max(peak, ++running)));
    conveyor.events.on('agent.finished', () => void running--);
    await conveyor.start();

    const titles = ['Add greeting', 'Add farewell', 'Add shout'];
    const created = await Promise.all(titles.map((title) => post(conveyor.routes, '/tasks').handler({ params: {}, query: {}, headers: {}, body: { title } })));
    const ids = created.map((c) => (c.body as { task: { id: number } }).task.id);
    await events.waitFor('task.done', () => events.of('task.done').length === 3, 170_000);

    const origin = path.join(dataDir, 'origin', 'demo.git');
    const mainFiles = (await git(['ls-tree', '-r', '--name-only', 'main'], { cwd: origin })).stdout.split('\n');
    for (const slug of ['add-greeting', 'add-farewell', 'add-shout']) {
      assert.ok(mainFiles.includes(`src/${slug}.js`), `main has the developer's ${slug}`);
      assert.ok(mainFiles.includes(`test/${slug}.test.js`));
    }
    const subjects = (await git(['log', '--format=%s', 'main'], { cwd: origin })).stdout;
    assert.match(subjects, /ET-00\d: Add greeting/);
    assert.equal((subjects.match(/^Merge branch /gm) ?? []).length, 3);
    assert.ok(peak <= 2, `at most two agents at once (saw ${peak})`);
    assert.equal(peak, 2, 'and the slots were used');

    const tracker = conveyor.container.resolve<LocalTracker>(TrackerLocalTokens.Tracker);
    for (const id of ids) {
      const task = (await conveyor.store.tasks.get(id))!;
      assert.equal(task.stage, 'done');
      assert.ok(task.mergedAt);
      const issue = (await tracker.getIssue(Number(task.trackerIssueId)))!;
      await eventually(async () => (await tracker.getIssue(issue.id))!.status === 'Done', 5_000, 'Done');
      const comments = (await tracker.events(issue.id)).filter((e) => e.kind === 'comment').map((e) => e.body);
      assert.ok(comments.some((c) => /^Developer done · \d+\.\dk in \/ \d+\.\dk out · \$\d+\.\d\d/.test(c)), 'finish comment with usage');
      await eventually(async () => (await tracker.events(issue.id)).some((e) => e.body.startsWith(`${task.workItemId} cost summary`)), 5_000, 'cost summary');
      const runs = await conveyor.store.agentRuns.listForTask(id);
      assert.deepEqual(runs.map((r) => r.role), ['analyst', 'architect', 'developer', 'reviewer', 'tester', 'deployer', 'deployer']);
      assert.ok(runs.every((r) => r.exitCode === 0 && r.usage && r.usage.costUsd > 0));
    }
    const counts = await conveyor.store.jobs.countByStatus();
    assert.equal((counts.queued ?? 0) + (counts.running ?? 0) + (counts.failed ?? 0), 0);
  });
}
