import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import 'reflect-metadata';
import { CoreTokens, createConveyor, DEFAULT_PIPELINE, GitWorkspace, type Conveyor, type Task } from '@conveyor/core';
import { createBareRepo, dropTestSchema, eventually, EventRecorder, PG_URL_ENV, RecordingLogger, testDatabases } from '@conveyor/core/testing';
import { BUNDLED_PLUGINS, buildServer, DEMO_AGENT, DEMO_STARTER_FILES } from '@conveyor/host';
import { FakeGitea } from '@conveyor/plugin-forge-gitea/testing';
import { FakePlane } from '@conveyor/plugin-tracker-plane/testing';

const REPO = 'acme/app';
const GITEA_SECRET = 'gitea-webhook-secret-for-tests';

interface Outcome {
  tasks: number;
  workItem: string;
  path: string[];
  agentJobsPerStage: Record<string, number>;
  planeState: string;
  finishComments: number;
  costSummaries: number;
  prMerged: boolean;
}

/**
 * Plane "To Analyse" → analyst → Approved in Plane → … → CI statuses from Gitea →
 * PR created and merged → done, all through signed webhooks into a listening host.
 * `chaos`: every webhook is delivered twice, in reverse order, and each head's
 * stale "pending" arrives again after its "success".
 */
async function scenario(t: { after: (fn: () => Promise<void> | void) => void }, dialect: string, chaos: boolean): Promise<Outcome> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-pg-e2e-'));
  const plane = await FakePlane.start({ autoDeliver: !chaos });
  const gitea = await FakeGitea.start();
  gitea.addRepo(REPO);
  const origin = await createBareRepo(DEMO_STARTER_FILES);
  gitea.push(REPO, 'main', (await origin.head('main'))!);
  const schema = `pge2e_${Date.now().toString(36)}_${chaos ? 'c' : 'p'}`;
  t.after(async () => {
    await plane.close();
    await gitea.close();
    origin.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const env = { PLANE_API_KEY: plane.apiKey, PLANE_WEBHOOK_SECRET: plane.webhookSecret, GITEA_TOKEN: gitea.token, GITEA_WEBHOOK_SECRET: GITEA_SECRET, [PG_URL_ENV]: process.env[PG_URL_ENV] };
  const config = {
    instance: { dataDir: dir },
    database: dialect === 'pg' ? { client: 'pg', url: `\${${PG_URL_ENV}}`, schema } : { client: 'sqlite', filename: path.join(dir, 'conveyor.db') },
    workspaces: { root: path.join(dir, 'workspaces') },
    worker: { maxConcurrency: 2, pollIntervalMs: 50 },
    repos: { [REPO]: { url: origin.origin } },
    plugins: {
      'tracker-local': { enabled: false },
      'forge-git': { enabled: false },
      'tracker-plane': { enabled: true, baseUrl: plane.url, workspaceSlug: plane.workspaceSlug, apiKey: '${PLANE_API_KEY}', webhookSecret: '${PLANE_WEBHOOK_SECRET}', botUserId: plane.bot.id, projects: { [plane.projectId]: { repo: REPO } } },
      'forge-gitea': { enabled: true, baseUrl: gitea.url, token: '${GITEA_TOKEN}', webhookSecret: '${GITEA_WEBHOOK_SECRET}' },
      'agent-script': { defaultCommand: `node "${DEMO_AGENT}" "$CONVEYOR_ROLE"`, logDir: path.join(dir, 'logs') },
    },
  };
  const statusDeliveries: Promise<unknown>[] = [];
  const logger = new RecordingLogger();
  const conveyor: Conveyor = await createConveyor({
    config,
    plugins: BUNDLED_PLUGINS,
    env,
    logger,
    // Gitea hosts the repository: every push Conveyor makes shows up there, and its
    // CI reports a status for the pushed head (pending, then success).
    bindings: (c) => {
      const cfg = c.resolve<{ repos: Record<string, never> }>(CoreTokens.Config);
      const ws = new GitWorkspace({ root: path.join(dir, 'workspaces'), repos: cfg.repos, pipeline: DEFAULT_PIPELINE, author: { name: 'Conveyor', email: 'c@x' }, logger: new RecordingLogger() });
      const push = ws.commitAndPush.bind(ws);
      ws.commitAndPush = async (task: Task, message: string) => {
        const out = await push(task, message);
        gitea.push(REPO, task.branch, out.sha);
        statusDeliveries.push(
          (async () => {
            const pending = await gitea.sendStatus(REPO, out.sha, 'pending', 'ci/build');
            const success = await gitea.sendStatus(REPO, out.sha, 'success', 'ci/build');
            if (chaos) {
              await gitea.webhooks.resend(success);
              await gitea.webhooks.resend(pending); // stale, after the success
              await gitea.webhooks.redeliver(pending);
            }
          })(),
        );
        return out;
      };
      c.register(CoreTokens.Workspace, { useValue: ws });
      c.register(CoreTokens.ArtifactReader, { useValue: ws });
    },
  });
  const events = new EventRecorder(conveyor.events);
  const server = await buildServer({ conveyor, token: 'x'.repeat(32), version: 'test', logger: { level: 'silent' } });
  t.after(async () => {
    await server.close();
    await conveyor.stop();
    if (dialect === 'pg') {
      await dropTestSchema(schema);
    }
  });
  await conveyor.start();
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  plane.setWebhookUrl(`${url}/webhooks/plane`);
  gitea.webhooks.target = { secret: GITEA_SECRET, url: `${url}/webhooks/gitea` };

  // Chaos: deliver whatever Plane has queued in reverse order, each twice.
  let pumping = chaos;
  const pump = (async () => {
    let next = 0;
    while (pumping) {
      const pending = plane.webhooks.deliveries.length;
      if (pending > next) {
        const batch = Array.from({ length: pending - next }, (_, k) => next + k).reverse();
        next = pending;
        for (const i of batch) {
          await plane.deliver(i);
          await plane.redeliver(i);
        }
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  t.after(async () => {
    pumping = false;
    await pump;
  });

  const issue = plane.createIssue({ name: 'Add a greeting', state: 'Backlog' });
  plane.moveIssue(issue.id, 'To Analyse');
  await eventually(() => plane.stateOf(plane.issue(issue.id)).name === 'In Review', 60_000, 'the issue In Review');
  plane.moveIssue(issue.id, 'Approved');
  await events.waitFor('task.done', () => true, 120_000);
  await eventually(() => plane.stateOf(plane.issue(issue.id)).name === 'Done', 10_000, 'the Plane issue Done');
  await Promise.all(statusDeliveries);
  await conveyor.webhooks.idle();
  await eventually(() => plane.comments.some((c) => /cost summary/.test(c.commentHtml ?? '')), 10_000, 'the cost summary comment');

  if (chaos) {
    // The chaos was real: duplicates reached the host and were recognised.
    const duplicates = logger.lines.filter((l) => l.msg === 'duplicate delivery acknowledged, not processed again');
    assert.ok(duplicates.some((l) => l.obj.source === 'plane') && duplicates.some((l) => l.obj.source === 'gitea'), `duplicates seen: ${duplicates.length}`);
  }
  const tasks = await conveyor.store.tasks.list();
  const task = tasks[0]!;
  const jobs = (await conveyor.store.jobs.listForTask(task.id)).filter((j) => j.kind === 'agent');
  const perStage: Record<string, number> = {};
  for (const j of jobs) perStage[j.stage] = (perStage[j.stage] ?? 0) + 1;
  const comments = plane.comments.filter((c) => c.issue === issue.id).map((c) => c.commentHtml ?? '');
  return {
    tasks: tasks.length,
    workItem: task.workItemId,
    path: ['analysis', ...(await conveyor.store.tasks.transitions(task.id)).map((x) => x.to)],
    agentJobsPerStage: perStage,
    planeState: plane.stateOf(plane.issue(issue.id)).name,
    finishComments: comments.filter((c) => /done · [\d.]+k? in \/ [\d.]+k? out · \$\d+\.\d\d/.test(c)).length,
    costSummaries: comments.filter((c) => /cost summary/.test(c)).length,
    prMerged: gitea.pull(REPO, task.prNumber!).merged,
  };
}

for (const dialect of testDatabases()) {
  test(`[${dialect}] Plane and Gitea webhooks carry a Plane issue to a merged PR and Done; duplicated and reordered webhooks end the same`, { timeout: 300_000 }, async (t) => {
    const plain = await scenario(t, dialect, false);
    assert.deepEqual(plain, {
      tasks: 1,
      workItem: 'ET-001',
      path: ['analysis', 'architecture', 'development', 'review', 'testing', 'deploy-staging', 'deploy', 'done'],
      agentJobsPerStage: { analysis: 1, architecture: 1, development: 1, review: 1, testing: 1, 'deploy-staging': 1, deploy: 1 },
      planeState: 'Done',
      finishComments: 7,
      costSummaries: 1,
      prMerged: true,
    });
    const chaotic = await scenario(t, dialect, true);
    assert.deepEqual(chaotic, plain, 'every webhook twice and out of order: one task, one job per stage attempt, the same end');
  });
}
