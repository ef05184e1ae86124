import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestConveyor, eventually, testDatabases, type TestConveyor, type TestDialect } from '../src/testing/index.js';
import { passingArtifacts } from './helpers.js';

/** A kit whose tasks run the whole pipeline: every verdict passes, the analysis is approved, CI goes green after development. */
async function shippingKit(dialect: TestDialect): Promise<TestConveyor> {
  const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true } }, agent: (req) => ({ artifact: { frontMatter: passingArtifacts(req.stage) } }) });
  kit.conveyor.events.on('human.approval_needed', ({ task }) => void kit.conveyor.intake.humanVerdict(task.id, 'approved'));
  kit.conveyor.events.on('job.finished', async ({ job }) => {
    if (job.stage !== 'development') return;
    const task = (await kit.conveyor.store.tasks.get(job.taskId))!;
    const sha = (await kit.forge.branchHeadSha(task.repo, task.branch))!;
    await kit.conveyor.intake.ciStatus({ repo: task.repo, sha, branch: task.branch, context: 'ci', state: 'success', targetUrl: null });
  });
  return kit;
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} an agent's finish: exit and usage recorded, then push, then PR, then the tracker comment, then advance`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true } }, agent: (req) => ({ artifact: { frontMatter: passingArtifacts(req.stage) } }) });
    t.after(() => kit.cleanup());
    const order: string[] = [];
    kit.conveyor.events.on('agent.finished', () => void order.push('agent.finished'));
    kit.conveyor.events.on('job.finished', () => void order.push(`job.finished(push=${kit.workspace.pushes.length},pr=${kit.forge.pulls.length},comments=${kit.tracker.comments.length})`));
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-1', title: 'Fix login' });
    await kit.events.waitFor('human.approval_needed');
    // start comment (analyst started), finish comment, then the approval request.
    assert.deepEqual(order, ['agent.finished', 'job.finished(push=1,pr=1,comments=2)']);
    assert.equal(kit.workspace.pushes[0]!.message, 'analyst: ET-001 analysis\n\nFix login');
    const pr = kit.forge.pulls[0]!;
    assert.deepEqual([pr.head, pr.base, pr.headSha], ['et-001-fix-login', 'main', kit.workspace.pushes[0]!.sha]);
    const saved = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(saved.prNumber, 1);
    const comments = kit.tracker.comments.map((c) => c.body);
    assert.match(comments[0]!, /the analyst started on ET-001/);
    assert.match(comments[1]!, /^Analyst done · 6\.3k in \/ 300 out · \$0\.01\nArtefact: fake:\/\/acme\/app\/src\/et-001-fix-login\/docs\/pipeline\/ET-001\/01-analysis\.md\nPR: fake:\/\/acme\/app\/pulls\/1$/);
    assert.match(comments[2]!, /Move the issue to "Approved"/);
    assert.deepEqual(kit.tracker.statuses.map((s) => s.status), ['In Review']);
  });

  test(`${t0} the workspace hears that an agent job ended only after the advance that follows its finish`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true } }, agent: (req) => ({ artifact: { frontMatter: passingArtifacts(req.stage) } }) });
    t.after(() => kit.cleanup());
    const order: string[] = [];
    kit.conveyor.events.on('job.finished', () => void order.push('job.finished'));
    kit.conveyor.events.on('human.approval_needed', () => void order.push('advance (approval asked)'));
    kit.workspace.onJobEnded = () => void order.push('jobEnded');
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-1', title: 'Fix login' });
    await eventually(() => kit.workspace.ended.length === 1, 10_000, 'the analyst job to end');
    assert.deepEqual(order, ['job.finished', 'advance (approval asked)', 'jobEnded']);
    assert.deepEqual(kit.workspace.ended, [task.id]);
  });

  test(`${t0} deploy → done merges the PR once (INITIATED first), sets Done and posts the cost summary`, async (t) => {
    const kit = await shippingKit(dialect);
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-2', title: 'Ship it' });
    await kit.events.waitFor('task.done', () => true, 20_000);
    const done = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.ok(done.mergeInitiatedAt && done.mergedAt && done.mergeInitiatedAt <= done.mergedAt);
    assert.equal(kit.forge.pulls.length, 1, 'one PR for the whole task');
    assert.equal(kit.forge.pulls[0]!.merged, true);
    assert.equal(kit.events.of('merge.completed').length, 1);
    // Done and the summary are stored with the move and run right after it: wait for them, not for the event.
    await eventually(() => kit.tracker.statuses.length === 4, 10_000, 'the tracker set Done');
    assert.deepEqual(kit.tracker.statuses.map((s) => s.status), ['In Review', 'Awaiting Deploy', 'Deploying', 'Done']);
    const summary = (await eventually(() => kit.tracker.comments.find((c) => /cost summary/.test(c.body))?.body, 10_000, 'the cost summary comment'))!;
    assert.equal(kit.tracker.comments.at(-1)!.body, summary, 'the summary is the last comment');
    assert.match(summary, /^ET-001 cost summary\n- Analyst ×1: .*\n- Architect ×1/);
    assert.match(summary, /- Deployer ×2: /);
    assert.match(summary, /Total: 44\.1k in \(35\.7k cached\) \/ 2\.1k out · \$0\.09$/);
  });

  test(`${t0} a PR that is already merged short-circuits the merge (an idempotent re-drive)`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    const pr = await kit.forge.ensurePullRequest({ repo: 'r', head: task.branch, base: 'main', title: 't', body: '' });
    await kit.forge.mergePullRequest('r', pr.number);
    await kit.conveyor.store.tasks.setPullRequest(task.id, pr.number, pr.url);
    let merges = 0;
    const original = kit.forge.mergePullRequest.bind(kit.forge);
    kit.forge.mergePullRequest = async (...a) => {
      merges++;
      return original(...a);
    };
    const gate = kit.conveyor.gates.get('pr_merged');
    const res = await gate.check({ task: (await kit.conveyor.store.tasks.get(task.id))!, stage: 'deploy', finishedAgent: null, readOnly: false, artifacts: kit.artifacts, agentRuns: kit.conveyor.store.agentRuns, ciStatuses: kit.conveyor.store.ciStatuses, forge: kit.forge, logger: kit.logger });
    assert.equal(res.verdict, 'pass');
    assert.equal(merges, 0);
    assert.ok((await kit.conveyor.store.tasks.get(task.id))!.mergedAt);
  });

  test(`${t0} two concurrent advances at deploy merge once: the INITIATED marker claims the merge`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    const pr = await kit.forge.ensurePullRequest({ repo: 'r', head: task.branch, base: 'main', title: 't', body: '' });
    await kit.conveyor.store.tasks.setPullRequest(task.id, pr.number, pr.url);
    let merges = 0;
    const original = kit.forge.mergePullRequest.bind(kit.forge);
    kit.forge.mergePullRequest = async (...a) => {
      merges++;
      await new Promise((r) => setTimeout(r, 50));
      return original(...a);
    };
    const gate = kit.conveyor.gates.get('pr_merged');
    const fresh = (await kit.conveyor.store.tasks.get(task.id))!;
    const ctx = { task: fresh, stage: 'deploy', finishedAgent: null, readOnly: false, artifacts: kit.artifacts, agentRuns: kit.conveyor.store.agentRuns, ciStatuses: kit.conveyor.store.ciStatuses, forge: kit.forge, logger: kit.logger };
    const verdicts = (await Promise.all([gate.check(ctx), gate.check(ctx)])).map((r) => r.verdict).sort();
    assert.equal(merges, 1);
    assert.deepEqual(verdicts, ['pass', 'pending']);
  });

  test(`${t0} a merge call that times out after landing keeps the INITIATED marker; the PR-merged webhook then completes the task once`, async (t) => {
    const kit = await shippingKit(dialect);
    t.after(() => kit.cleanup());
    const original = kit.forge.mergePullRequest.bind(kit.forge);
    let merges = 0;
    kit.forge.mergePullRequest = async (...a) => {
      merges++;
      await original(...a);
      // The merge landed, then the answer was lost: the caller cannot know.
      throw Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    };
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-9', title: 'Lost answer' });
    await kit.events.waitFor('gate.evaluated', (e) => e.gate === 'pr_merged' && e.verdict === 'pending' && !e.readOnly, 20_000);
    const stuck = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(stuck.stage, 'deploy', 'never rolled back to development');
    assert.ok(stuck.mergeInitiatedAt, 'the marker is kept');
    assert.equal(stuck.mergedAt, null);
    const res = await kit.conveyor.intake.pullRequestMerged({ repo: 'acme/app', branch: task.branch, number: stuck.prNumber });
    assert.equal(res.action, 'done');
    const done = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(done.stage, 'done');
    assert.ok(done.mergedAt);
    assert.equal(merges, 1, 'the forge was asked, not merged again');
    assert.equal(kit.events.of('merge.completed').length, 1);
    assert.equal(kit.events.of('task.done').length, 1);
    assert.equal((await kit.conveyor.intake.pullRequestMerged({ repo: 'acme/app', branch: task.branch, number: stuck.prNumber })).action, 'ignored', 'a redelivery does nothing');
  });

  test(`${t0} a merge refused because the head moved after it was read is deferred and merged on the new head, not rolled back`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    kit.forge.setHead('r', task.branch, 'read-by-the-gate');
    const pr = await kit.forge.ensurePullRequest({ repo: 'r', head: task.branch, base: 'main', title: 't', body: '' });
    await kit.conveyor.store.tasks.setPullRequest(task.id, pr.number, pr.url);
    // The forge learns of the deployer's push just after the gate read the head (as
    // Gitea syncs a pull request's head from a queue).
    const read = kit.forge.getPullRequest.bind(kit.forge);
    let raced = false;
    kit.forge.getPullRequest = async (repo, n) => {
      const got = await read(repo, n);
      if (raced || !got) return got;
      raced = true;
      const seen = { ...got };
      kit.forge.setHead(repo, got.head, 'pushed-a-moment-before');
      return seen;
    };
    const gate = kit.conveyor.gates.get('pr_merged');
    const check = async () => gate.check({ task: (await kit.conveyor.store.tasks.get(task.id))!, stage: 'deploy', finishedAgent: null, readOnly: false, artifacts: kit.artifacts, agentRuns: kit.conveyor.store.agentRuns, ciStatuses: kit.conveyor.store.ciStatuses, forge: kit.forge, logger: kit.logger });
    const first = await check();
    assert.equal(first.verdict, 'defer', first.reason);
    assert.match(first.reason!, /moved while it was merged \(read-by-the- → pushed-a-mom\)/);
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.mergeInitiatedAt, null, 'the refusal dropped the claim');
    assert.equal((await check()).verdict, 'pass', 'the next evaluation merges the new head');
    assert.equal(kit.forge.pulls[0]!.merged, true);
    // A refusal with the head where it was read (a real conflict) still fails.
    const { task: other } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '2', title: 'u' });
    const pr2 = await kit.forge.ensurePullRequest({ repo: 'r', head: other.branch, base: 'main', title: 'u', body: '' });
    await kit.conveyor.store.tasks.setPullRequest(other.id, pr2.number, pr2.url);
    kit.forge.mergePullRequest = async () => {
      throw Object.assign(new Error('Gitea answered 409 Conflict'), { status: 409 });
    };
    const conflict = await gate.check({ task: (await kit.conveyor.store.tasks.get(other.id))!, stage: 'deploy', finishedAgent: null, readOnly: false, artifacts: kit.artifacts, agentRuns: kit.conveyor.store.agentRuns, ciStatuses: kit.conveyor.store.ciStatuses, forge: kit.forge, logger: kit.logger });
    assert.equal(conflict.verdict, 'fail');
  });

  test(`${t0} a merge the forge refuses (4xx) clears only the caller's own marker and fails; a 5xx keeps it and waits`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    const pr = await kit.forge.ensurePullRequest({ repo: 'r', head: task.branch, base: 'main', title: 't', body: '' });
    await kit.conveyor.store.tasks.setPullRequest(task.id, pr.number, pr.url);
    const gate = kit.conveyor.gates.get('pr_merged');
    const check = async () => gate.check({ task: (await kit.conveyor.store.tasks.get(task.id))!, stage: 'deploy', finishedAgent: null, readOnly: false, artifacts: kit.artifacts, agentRuns: kit.conveyor.store.agentRuns, ciStatuses: kit.conveyor.store.ciStatuses, forge: kit.forge, logger: kit.logger });
    kit.forge.mergePullRequest = async () => {
      throw Object.assign(new Error('Gitea answered 502 Bad Gateway'), { status: 502 });
    };
    const ambiguous = await check();
    assert.equal(ambiguous.verdict, 'pending');
    const marker = (await kit.conveyor.store.tasks.get(task.id))!.mergeInitiatedAt!;
    assert.ok(marker, 'a 5xx keeps the marker');
    assert.equal((await check()).verdict, 'pending', 'no second merge call while the marker is fresh');

    assert.equal(await kit.conveyor.store.tasks.clearMergeInitiated(task.id, new Date(marker.getTime() - 1)), false, 'a stale marker value clears nothing');
    assert.ok(await kit.conveyor.store.tasks.clearMergeInitiated(task.id, marker));
    kit.forge.mergePullRequest = async () => {
      throw Object.assign(new Error('Gitea answered 409 Conflict'), { status: 409 });
    };
    const refused = await check();
    assert.equal(refused.verdict, 'fail');
    assert.match(refused.reason!, /409 Conflict/);
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.mergeInitiatedAt, null, 'a refusal drops the claim');
  });
}
