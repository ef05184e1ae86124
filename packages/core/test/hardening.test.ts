import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { git } from '../src/workspace/git.js';
import { GitWorkspace } from '../src/workspace/git-workspace.js';
import { DEFAULT_PIPELINE } from '../src/pipeline/pipeline.js';
import { pidAlive, runProcess } from '../src/util/process-group.js';
import { redactConfig, resolveConfig } from '../src/config/resolve-config.js';
import { createBareRepo, createTestConveyor, eventually, RecordingLogger, testDatabases } from '../src/testing/index.js';
import { passingArtifacts } from './helpers.js';

// Regressions found in review: each test fails on the code before its fix.

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} a failed attempt never advances on an earlier attempt's success`, async (t) => {
    // The second push fails for good: that attempt's agent ran fine, its work never landed.
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true, retryBudget: 0 } }, agent: (req) => ({ artifact: { frontMatter: passingArtifacts(req.stage) } }) });
    t.after(() => kit.cleanup());
    const push = kit.workspace.commitAndPush.bind(kit.workspace);
    let pushes = 0;
    kit.workspace.commitAndPush = async (...a) => {
      if (pushes++ > 0) throw new Error('remote rejected the push');
      return push(...a);
    };
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.conveyor.db.knex('tasks').where({ id: task.id }).update({ stage: 'development' });
    await kit.conveyor.db.knex('jobs').where({ task_id: task.id }).update({ stage: 'development', role: 'developer' });
    await kit.conveyor.start();
    // The first attempt's advance waits on CI; record green only after it has looked, or it advances.
    await kit.events.waitFor('gate.evaluated', (e) => e.gate === 'ci_green' && !e.readOnly);
    await kit.events.waitFor('job.finished');
    const head = (await kit.forge.branchHeadSha('r', task.branch))!;
    await kit.conveyor.store.ciStatuses.record({ repo: 'r', sha: head, branch: task.branch, context: 'ci', state: 'success', targetUrl: null });
    // Another developer run (as after a review's rollback): its push fails.
    await kit.conveyor.db.knex('tasks').where({ id: task.id }).update({ stage: 'development' });
    await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage: 'development', kind: 'agent', role: 'developer' });
    kit.conveyor.worker.wake();
    await kit.events.waitFor('task.blocked');
    const after = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(after.stage, 'development', "the failed attempt did not ride on the first attempt's green run");
    assert.match(after.blockedReason!, /remote rejected the push/);
  });

  test(`${t0} an execution that throws gives its job back instead of leaving it running`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true } } });
    t.after(() => kit.cleanup());
    const runs = kit.conveyor.store.agentRuns;
    const original = runs.recordExit.bind(runs);
    let failures = 1;
    runs.recordExit = async (...a) => {
      if (failures-- > 0) throw new Error('SQLITE_BUSY: database is locked');
      return original(...a);
    };
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.events.waitFor('job.finished');
    const job = (await kit.conveyor.store.jobs.listForTask(task.id))[0]!;
    assert.equal(job.status, 'done');
    assert.equal(job.attempt, 2);
  });

  test(`${t0} a running row of this host that nobody runs is recovered without a restart`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { instance: { hostId: 'me' }, worker: { enabled: true, heartbeatIntervalMs: 20 } } });
    t.after(() => kit.cleanup());
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    const ghost = (await kit.conveyor.store.jobs.claim({ hostId: 'me', clauses: [] }))!;
    await kit.conveyor.start();
    await kit.events.waitFor('job.finished', (e) => e.job.taskId === task.id, 10_000);
    assert.equal((await kit.conveyor.store.jobs.get(ghost.id))!.attempt, ghost.attempt + 1);
  });

  test(`${t0} a merge that fails drops its INITIATED marker, so the next visit merges`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    const pr = await kit.forge.ensurePullRequest({ repo: 'r', head: task.branch, base: 'main', title: 't', body: '' });
    await kit.conveyor.store.tasks.setPullRequest(task.id, pr.number, pr.url);
    const original = kit.forge.mergePullRequest.bind(kit.forge);
    let fail = true;
    kit.forge.mergePullRequest = async (...a) => {
      if (fail) throw new Error('409 conflict');
      return original(...a);
    };
    const gate = kit.conveyor.gates.get('pr_merged');
    const ctx = async () => ({ task: (await kit.conveyor.store.tasks.get(task.id))!, stage: 'deploy', finishedAgent: null, readOnly: false, artifacts: kit.artifacts, agentRuns: kit.conveyor.store.agentRuns, ciStatuses: kit.conveyor.store.ciStatuses, forge: kit.forge, logger: kit.logger });
    assert.equal((await gate.check(await ctx())).verdict, 'fail');
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.mergeInitiatedAt, null);
    fail = false;
    assert.equal((await gate.check(await ctx())).verdict, 'pass');
  });

  test(`${t0} the merge is pinned to the head the gate read: a push in between merges nothing, and the edge is judged again on the new head`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    kit.forge.setHead('r', task.branch, 'a'.repeat(40));
    const pr = await kit.forge.ensurePullRequest({ repo: 'r', head: task.branch, base: 'main', title: 't', body: '' });
    await kit.conveyor.store.tasks.setPullRequest(task.id, pr.number, pr.url);
    const read = kit.forge.getPullRequest.bind(kit.forge);
    kit.forge.getPullRequest = async (...a) => {
      const seen = structuredClone(await read(...a));
      kit.forge.setHead('r', task.branch, 'b'.repeat(40)); // somebody pushes right after the gate looked
      return seen;
    };
    const gate = kit.conveyor.gates.get('pr_merged');
    const ctx = { task: (await kit.conveyor.store.tasks.get(task.id))!, stage: 'deploy', finishedAgent: null, readOnly: false, artifacts: kit.artifacts, agentRuns: kit.conveyor.store.agentRuns, ciStatuses: kit.conveyor.store.ciStatuses, forge: kit.forge, logger: kit.logger };
    const res = await gate.check(ctx);
    // Judged again (through the merge pin, when merge-gate binds one) as if the push
    // had come before the gate looked; never merged unread.
    assert.equal(res.verdict, 'defer');
    assert.match(res.reason ?? '', /moved while it was merged \(aaaaaaaaaaaa → bbbbbbbbbbbb\)/);
    assert.equal(kit.forge.pulls[0]!.merged, false);
    const after = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(after.mergedAt, null);
    assert.equal(after.mergeInitiatedAt, null);
  });

  test(`${t0} an attempt that lost its job mid-run does not push, open a PR or comment`, async (t) => {
    const kit = await createTestConveyor({
      dialect,
      // A slow heartbeat: the attempt learns it lost the job only at finalization.
      config: { worker: { enabled: true, heartbeatIntervalMs: 60_000 } },
      agent: () => ({ delayMs: 100 }),
    });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.events.waitFor('agent.started');
    // Another host re-claims the job while this attempt's agent is still running.
    await kit.conveyor.db.knex('jobs').where({ task_id: task.id }).update({ attempt: 7 });
    await kit.events.waitFor('agent.finished');
    await eventually(() => kit.logger.lines.some((l) => l.msg?.includes('finalization skipped')), 5_000, 'finalization skipped');
    assert.equal(kit.workspace.pushes.length, 0);
    assert.equal(kit.forge.pulls.length, 0);
    assert.ok(!kit.tracker.comments.some((c) => c.body.startsWith('Analyst done')));
  });

  test(`${t0} after an In Progress relaunch, the analyst's next finish asks the person again`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true } }, agent: (req) => ({ artifact: { frontMatter: passingArtifacts(req.stage) } }) });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    await kit.events.waitFor('human.approval_needed');
    assert.equal((await kit.conveyor.intake.trackerStatus({ repo: 'r', trackerIssueId: '1', status: 'In Progress' })).action, 'relaunched');
    await kit.events.waitFor('human.approval_needed', () => kit.events.of('human.approval_needed').length === 2);
    assert.deepEqual(kit.tracker.statuses.map((s) => s.status), ['In Review', 'In Review']);
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.humanReviewEndedAt, null, 'the second review window is open');
  });
}

test('an unwritable log never crashes the host; a normal exit takes its background children along', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hardening-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const res = await runProcess({ command: 'echo hi', shell: true, cwd: dir, timeoutMs: 5_000, logPath: dir });
  assert.equal(res.exitCode, 0);
  const bg = await runProcess({ command: 'sleep 60 & echo $! > bg.pid', shell: true, cwd: dir, timeoutMs: 10_000, killGraceMs: 200 });
  assert.equal(bg.exitCode, 0);
  const child = Number(fs.readFileSync(path.join(dir, 'bg.pid'), 'utf8'));
  await eventually(() => !pidAlive(child), 3_000, 'the background child gone');
});

test('credentials in a repo URL never reach a git error or the printed config', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hardening-ws-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const ws = new GitWorkspace({ root, repos: { r: { url: 'http://conveyor:s3cr3t-token@127.0.0.1:9/x.git', mainBranch: 'main', protectedBranches: [] } }, pipeline: DEFAULT_PIPELINE, author: { name: 'a', email: 'a@b' }, logger: new RecordingLogger() });
  await assert.rejects(ws.prepare({ id: 1, repo: 'r', branch: 'et-001-x' } as never), (err: Error) => !err.message.includes('s3cr3t') && err.message.includes('127.0.0.1:9/x.git'));
  // The failed first fetch leaves no mirror (it is built under a temporary name), and
  // no file anywhere under the root holds the URL.
  const files = fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  for (const f of files) assert.doesNotMatch(fs.readFileSync(f, 'utf8'), /s3cr3t|127\.0\.0\.1/, `the URL is stored in no file (${f})`);
  assert.equal(fs.existsSync(path.join(root, 'mirrors', 'r.git')), false, 'no half-made mirror');
  const printed = JSON.stringify(redactConfig(resolveConfig({ repos: { r: { url: '${URL}' } } }, [], { env: { URL: 'https://bot:s3cr3t-token@gitea.example/x.git' } }), []));
  assert.ok(!printed.includes('s3cr3t'));
});

test('an agent in its worktree cannot push; Conveyor still can', async (t) => {
  const repo = await createBareRepo();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hardening-push-'));
  t.after(() => {
    repo.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const ws = new GitWorkspace({ root, repos: { r: { url: repo.origin, mainBranch: 'main', protectedBranches: [] } }, pipeline: DEFAULT_PIPELINE, author: { name: 'a', email: 'a@b' }, logger: new RecordingLogger() });
  const task = { id: 1, repo: 'r', branch: 'et-001-x', workItemId: 'ET-001' } as never;
  const dir = await ws.prepare(task);
  fs.writeFileSync(path.join(dir, 'f.txt'), 'x');
  await git(['add', '-A'], { cwd: dir });
  await git(['-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '-qm', 'agent'], { cwd: dir });
  const agentPush = await git(['push', 'origin', 'HEAD:refs/heads/main'], { cwd: dir, allowFailure: true });
  assert.notEqual(agentPush.exitCode, 0);
  assert.deepEqual(await repo.log('main'), ['initial commit']);
  await ws.commitAndPush(task, 'conveyor');
  assert.deepEqual(await repo.log('et-001-x'), ['agent', 'initial commit']);
});

test("an agent's process sees PATH and HOME and what it was given, never the host's secrets", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hardening-env-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  process.env.CONVEYOR_PLUGINS_FORGE_GITEA_TOKEN = 'gitea-secret-token';
  process.env.PLANE_WEBHOOK_SECRET = 'plane-secret';
  process.env.ANTHROPIC_API_KEY = 'sk-ant-test';
  t.after(() => {
    delete process.env.CONVEYOR_PLUGINS_FORGE_GITEA_TOKEN;
    delete process.env.PLANE_WEBHOOK_SECRET;
    delete process.env.ANTHROPIC_API_KEY;
  });
  const res = await runProcess({ command: 'env', cwd: dir, timeoutMs: 5_000, env: { CONVEYOR_WORK_ITEM: 'ET-001' }, passEnv: ['ANTHROPIC_*'] });
  assert.match(res.stdout, /^PATH=/m);
  assert.match(res.stdout, /^CONVEYOR_WORK_ITEM=ET-001$/m);
  assert.match(res.stdout, /^ANTHROPIC_API_KEY=sk-ant-test$/m, 'an explicitly passed prefix');
  assert.doesNotMatch(res.stdout, /gitea-secret-token|plane-secret/);
  const bare = await runProcess({ command: 'env', cwd: dir, timeoutMs: 5_000 });
  assert.doesNotMatch(bare.stdout, /ANTHROPIC_API_KEY/);
});
