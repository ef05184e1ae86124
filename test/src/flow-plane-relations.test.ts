import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestConveyor, eventually, testDatabases } from '@conveyor/core/testing';
import { taskDepsPlugin } from '@conveyor/plugin-task-deps';
import { trackerPlanePlugin } from '@conveyor/plugin-tracker-plane';
import { FakePlane } from '@conveyor/plugin-tracker-plane/testing';

const REPO = 'acme/app';

for (const dialect of testDatabases()) {
  test(`[${dialect}] task-deps ingests Plane's "blocked by" relations on intake: the blocked task waits and says why`, async (t) => {
    const plane = await FakePlane.start({ autoDeliver: false });
    t.after(() => plane.close());
    const kit = await createTestConveyor({
      dialect,
      plugins: [trackerPlanePlugin, taskDepsPlugin],
      env: { PLANE_API_KEY: plane.apiKey, PLANE_WEBHOOK_SECRET: plane.webhookSecret },
      config: {
        repos: { [REPO]: {} },
        plugins: {
          'tracker-plane': { enabled: true, baseUrl: plane.url, workspaceSlug: plane.workspaceSlug, apiKey: '${PLANE_API_KEY}', webhookSecret: '${PLANE_WEBHOOK_SECRET}', botUserId: plane.bot.id, projects: { [plane.projectId]: { repo: REPO } } },
          'task-deps': { ingestTrackerRelations: true },
        },
      },
    });
    t.after(() => kit.cleanup());
    const a = plane.createIssue({ name: 'Schema first', silent: true });
    const b = plane.createIssue({ name: 'Then the API', silent: true });
    plane.issue(b.id).blockedBy = [a.id];

    const { task: ta } = await kit.conveyor.intake.startPipeline({ repo: REPO, trackerIssueId: a.id, title: a.name });
    const { task: tb } = await kit.conveyor.intake.startPipeline({ repo: REPO, trackerIssueId: b.id, title: b.name });
    const held = await eventually(async () => {
      const r = await kit.conveyor.waiting.heldBackBy(tb);
      return r.length ? r : null;
    }, 10_000, 'the ingested dependency');
    assert.equal(held![0]!.kind, 'dependency');
    assert.match(held![0]!.text, new RegExp(`task ${ta.id} \\(${ta.workItemId}, at analysis\\)`));
    const row = await kit.conveyor.db.knex('task_deps').where({ task_id: tb.id }).first();
    assert.deepEqual([row.depends_on, row.source], [ta.id, 'tracker']);
    assert.equal(plane.callsTo('GET', `/work-items/${b.id}/relations/`).length, 1, 'read from Plane once, on intake');
    const claimed = await kit.conveyor.store.jobs.claim({ hostId: 'h', clauses: kit.conveyor.clauses.list() });
    assert.equal(claimed!.taskId, ta.id);
    assert.equal(await kit.conveyor.store.jobs.claim({ hostId: 'h', clauses: kit.conveyor.clauses.list() }), null, 'b waits for a');
  });
}
