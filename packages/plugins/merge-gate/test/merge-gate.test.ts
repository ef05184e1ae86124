import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { definePlugin, git, type GateResult, type Task } from '@conveyor/core';
import { commitAll, createBareRepo, createTestConveyor, eventually, testDatabases, type BareRepo, type TestConveyor, type TestDialect, gateContext, taskAtStage } from '@conveyor/core/testing';
import { PremergeCheckout, RetestStore, mergeGatePlugin, refreshHeldLeases } from '../src/index.js';

const REPO = 'acme/app';

/** Green alone; red when a.txt and b.txt are both there (two changes that break together). */
const TEST_SH = 'if [ -f a.txt ] && [ -f b.txt ]; then echo "a and b together break"; exit 1; fi\necho ok\n';

/**
 * An origin whose pre-receive hook refuses every update of main and notes it: main
 * moves only by the forge's merge (`update-ref` inside the origin), never by a push
 * of Conveyor's. The suite checks the note was never written.
 */
async function guardedOrigin(t: { after(fn: () => void): void }): Promise<BareRepo & { refusals: string; seed: string }> {
  const repo = await createBareRepo({ 'README.md': '# app\n', 'test.sh': TEST_SH, 'shared.txt': 'base\n' });
  t.after(() => repo.dispose());
  const refusals = path.join(repo.dir, 'refused-pushes');
  fs.writeFileSync(
    path.join(repo.origin, 'hooks', 'pre-receive'),
    `#!/bin/sh\nwhile read old new ref; do\n  if [ "$ref" = refs/heads/main ]; then echo "$ref" >> "${refusals}"; echo "main moves only by the forge's merge" >&2; exit 1; fi\ndone\nexit 0\n`,
    { mode: 0o755 },
  );
  const seed = path.join(repo.dir, 'work');
  await git(['clone', '--quiet', repo.origin, seed], { cwd: repo.dir });
  return Object.assign(repo, { refusals, seed });
}

/** Pushes a branch off the origin's main with `files` changed, as a developer's work. */
async function pushBranch(o: { seed: string }, branch: string, files: Record<string, string>): Promise<string> {
  await git(['fetch', '--quiet', 'origin'], { cwd: o.seed });
  await git(['checkout', '--quiet', '-B', branch, 'origin/main'], { cwd: o.seed });
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(o.seed, name), content);
  await commitAll(o.seed, `work on ${branch}`);
  await git(['push', '--quiet', 'origin', `${branch}:refs/heads/${branch}`], { cwd: o.seed });
  return (await git(['rev-parse', 'HEAD'], { cwd: o.seed })).stdout;
}

/** The forge's merge: main fast-forwards to the tested head inside the origin (no push, no hook). */
async function land(o: BareRepo, sha: string): Promise<void> {
  await git(['update-ref', 'refs/heads/main', sha], { cwd: o.origin });
}

async function kitWith(dialect: TestDialect, origin: string, plugin: Record<string, unknown> = {}, testCommand = 'sh test.sh'): Promise<TestConveyor> {
  return createTestConveyor({
    dialect,
    plugins: [mergeGatePlugin],
    config: { repos: { [REPO]: { url: origin, testCommand } }, plugins: { 'merge-gate': { enabled: true, busyDelayMs: 100, ...plugin } } },
  });
}

function taskOn(kit: TestConveyor, issue: string): Promise<Task> {
  return taskAtStage(kit, REPO, issue, 'deploy-staging');
}

function check(kit: TestConveyor, task: Task): Promise<GateResult> {
  return kit.conveyor.gates.get('merge_gate').check(gateContext(kit, task, 'deploy-staging'));
}

function assertMainNeverPushed(o: { refusals: string }): void {
  assert.equal(fs.existsSync(o.refusals), false, `the pre-receive hook refused a push to main: ${fs.existsSync(o.refusals) ? fs.readFileSync(o.refusals, 'utf8') : ''}`);
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} the race: two branches green alone but red together reach the gate at once; main never goes red, one lands, the other is rebased, re-tested and fails`, async (t) => {
    const o = await guardedOrigin(t);
    const kit = await kitWith(dialect, o.origin);
    t.after(() => kit.cleanup());
    const a = await taskOn(kit, 'A');
    const b = await taskOn(kit, 'B');
    await pushBranch(o, a.branch, { 'a.txt': 'a\n' });
    await pushBranch(o, b.branch, { 'b.txt': 'b\n' });

    const [ra, rb] = await Promise.all([check(kit, a), check(kit, b)]);
    const verdicts = [ra.verdict, rb.verdict].sort();
    assert.deepEqual(verdicts, ['defer', 'pass'], 'one holds the lease, the other waits');
    const [winner, loser] = ra.verdict === 'pass' ? [a, b] : [b, a];
    assert.equal((await kit.conveyor.store.leases.get(REPO))!.taskId, winner.id);
    const deferred = kit.events.of('merge.deferred');
    assert.deepEqual(deferred.map((e) => [e.taskId, e.holder]), [[loser.id, `task ${winner.id}`]]);

    // The forge merges exactly what was tested; the task is done and gives the lease back.
    const retests = new RetestStore(kit.conveyor.db.knex, { now: () => Date.now() });
    const tested = (await retests.testedSha(winner.id))!;
    assert.equal(tested, await o.head(winner.branch));
    await land(o, tested);
    await kit.conveyor.db.knex('tasks').where({ id: winner.id }).update({ stage: 'deploy' });
    assert.ok(await kit.conveyor.engine.completeByMerge(winner.id, 'deploy', 'merged (test)'));
    // Released by a `task.stage_changed` listener, which the move does not wait for.
    await eventually(async () => (await kit.conveyor.store.leases.get(REPO)) === null, 10_000, 'the lease released on done');

    const mainBefore = await o.head('main');
    const late = await check(kit, loser);
    assert.equal(late.verdict, 'fail');
    assert.match(late.reason!, /re-test .* failed 2 time\(s\)/);
    assert.match(late.output!, /a and b together break/);
    assert.equal(await kit.conveyor.store.leases.get(REPO), null, 'released on a red re-test');
    assert.equal(await o.head('main'), mainBefore, 'main never moved to the red tree');
    const rebasedHead = (await o.head(loser.branch))!;
    assert.equal((await git(['merge-base', '--is-ancestor', mainBefore!, rebasedHead], { cwd: o.origin, allowFailure: true })).exitCode, 0, 'the loser was rebased onto the new main and pushed');
    const attempts = await retests.forTask(loser.id);
    assert.deepEqual(attempts.map((r) => [r.attempt, r.passed, r.sha]), [[1, false, rebasedHead], [2, false, rebasedHead]], 'every attempt recorded with its sha');
    assertMainNeverPushed(o);
  });

  test(`${t0} on done the lease is given back after the other hooks of done (what they record under it lands before the next task can take it)`, async (t) => {
    const o = await guardedOrigin(t);
    const held: (number | null)[] = [];
    // Registered after merge-gate, not late: it runs before merge-gate's release.
    const probe = definePlugin({
      name: 'done-probe',
      register(ctx) {
        ctx.onStageEnter('done', async (task) => void held.push((await ctx.stores.leases.get(task.repo))?.taskId ?? null));
      },
    });
    const kit = await createTestConveyor({ dialect, plugins: [mergeGatePlugin, probe], config: { repos: { [REPO]: { url: o.origin, testCommand: 'sh test.sh' } }, plugins: { 'merge-gate': { enabled: true, busyDelayMs: 100 } } } });
    t.after(() => kit.cleanup());
    const a = await taskOn(kit, 'A');
    await pushBranch(o, a.branch, { 'a.txt': 'a\n' });
    assert.equal((await check(kit, a)).verdict, 'pass');
    await land(o, (await o.head(a.branch))!);
    await kit.conveyor.db.knex('tasks').where({ id: a.id }).update({ stage: 'deploy' });
    assert.ok(await kit.conveyor.engine.completeByMerge(a.id, 'deploy', 'merged (test)'));
    assert.deepEqual(held, [a.id], 'still held while the hooks of done ran');
    assert.equal(await kit.conveyor.store.leases.get(REPO), null, 'given back once they had');
    assertMainNeverPushed(o);
  });

  test(`${t0} a lease is refreshed while its task is at deploy-staging or deploy, never once the task moved on or is blocked, and never for another holder`, async (t) => {
    const o = await guardedOrigin(t);
    const kit = await kitWith(dialect, o.origin);
    t.after(() => kit.cleanup());
    assert.ok(kit.conveyor.extensions.daemons.some((d) => d.plugin === 'merge-gate' && d.daemon.name === 'merge-lease-refresh'), 'the refresher runs as a daemon');
    const leases = kit.conveyor.store.leases;
    const a = await taskOn(kit, 'A');
    await pushBranch(o, a.branch, { 'a.txt': 'a\n' });
    assert.equal((await check(kit, a)).verdict, 'pass');
    const expiry = async () => (await leases.get(REPO))!.expiresAt.getTime();
    const soon = Date.now() + 1_000;
    const push = () => refreshHeldLeases({ leases, task: (id) => kit.conveyor.store.tasks.get(id), ttlMs: 600_000, logger: kit.logger });
    await kit.conveyor.db.knex('merge_leases').where({ repo: REPO }).update({ expires_at: soon });
    assert.equal(await push(), 1);
    assert.ok((await expiry()) >= soon + 500_000, 'pushed out by the lease length');

    await kit.conveyor.db.knex('tasks').where({ id: a.id }).update({ stage: 'deploy' });
    await kit.conveyor.db.knex('merge_leases').where({ repo: REPO }).update({ expires_at: soon });
    assert.equal(await push(), 1, 'at deploy too');

    await kit.conveyor.db.knex('tasks').where({ id: a.id }).update({ blocked_reason: 'budget spent' });
    await kit.conveyor.db.knex('merge_leases').where({ repo: REPO }).update({ expires_at: soon });
    assert.equal(await push(), 0, 'a blocked holder is not kept');
    await kit.conveyor.db.knex('tasks').where({ id: a.id }).update({ blocked_reason: null, stage: 'development' });
    assert.equal(await push(), 0, 'a holder that moved on is not kept');
    assert.equal(await expiry(), soon);

    // Changed hands between the listing and the refresh: the new holder's expiry is not touched.
    assert.equal(await leases.refresh(REPO, a.id + 1000, 600_000), false);
    assert.equal(await expiry(), soon);
  });

  test(`${t0} two branches that conflict: the second does not rebase, fails with git's output and releases the lease; main untouched`, async (t) => {
    const o = await guardedOrigin(t);
    const kit = await kitWith(dialect, o.origin);
    t.after(() => kit.cleanup());
    const a = await taskOn(kit, 'A');
    const b = await taskOn(kit, 'B');
    await pushBranch(o, a.branch, { 'shared.txt': 'from a\n' });
    const bHead = await pushBranch(o, b.branch, { 'shared.txt': 'from b\n' });
    assert.equal((await check(kit, a)).verdict, 'pass');
    await land(o, (await o.head(a.branch))!);
    await kit.conveyor.db.knex('tasks').where({ id: a.id }).update({ stage: 'deploy' });
    await kit.conveyor.engine.completeByMerge(a.id, 'deploy', 'merged (test)');
    const res = await check(kit, b);
    assert.equal(res.verdict, 'fail');
    assert.match(res.reason!, /does not rebase cleanly onto main/);
    assert.match(res.output!, /CONFLICT/);
    assert.equal(await o.head(b.branch), bHead, 'a failed rebase pushes nothing');
    assert.equal(await kit.conveyor.store.leases.get(REPO), null);
    assertMainNeverPushed(o);
  });

  test(`${t0} up to date: no rebase, no push (same sha), the re-test passes and the lease is held until the task leaves deploy`, async (t) => {
    const o = await guardedOrigin(t);
    const kit = await kitWith(dialect, o.origin);
    t.after(() => kit.cleanup());
    const a = await taskOn(kit, 'A');
    const head = await pushBranch(o, a.branch, { 'a.txt': 'a\n' });
    assert.equal((await check(kit, a)).verdict, 'pass');
    assert.equal(await o.head(a.branch), head, 'nothing pushed');
    assert.equal((await check(kit, a)).verdict, 'pass', 're-entrant for its holder');
    // Moving on to deploy keeps the lease; a rollback gives it back.
    await kit.conveyor.db.knex('tasks').where({ id: a.id }).update({ stage: 'deploy' });
    kit.conveyor.events.emit('task.stage_changed', { task: { ...a, stage: 'deploy' }, from: 'deploy-staging', to: 'deploy', reason: 'test' });
    assert.equal((await kit.conveyor.store.leases.get(REPO))!.taskId, a.id);
    await kit.conveyor.db.knex('tasks').where({ id: a.id }).update({ stage: 'development' });
    kit.conveyor.events.emit('task.stage_changed', { task: { ...a, stage: 'development' }, from: 'deploy', to: 'development', reason: 'rollback (test)' });
    await waitForRelease(kit);
    assertMainNeverPushed(o);
  });

  test(`${t0} a re-test that passes only on its retry is accepted and reported as flaky (event, journal, /queue)`, async (t) => {
    const o = await guardedOrigin(t);
    const kit = await kitWith(dialect, o.origin, { retestAttempts: 1 }, 'if [ ! -f .ran ]; then touch .ran; echo first run red; exit 1; fi; echo green');
    t.after(() => kit.cleanup());
    const a = await taskOn(kit, 'A');
    const head = await pushBranch(o, a.branch, { 'a.txt': 'a\n' });
    assert.equal((await check(kit, a)).verdict, 'pass');
    assert.deepEqual(kit.events.of('merge.flaky').map((e) => [e.taskId, e.sha, e.attempts]), [[a.id, head, 2]]);
    const rows = await new RetestStore(kit.conveyor.db.knex, { now: () => Date.now() }).forTask(a.id);
    assert.deepEqual(rows.map((r) => [r.attempt, r.passed, r.flaky]), [[1, false, false], [2, true, true]]);
    assert.match(rows[0]!.output, /first run red/);
    const queue = (await kit.conveyor.snapshot()) as { plugins: Record<string, { flaky: { taskId: number }[]; leases: { taskId: number }[] }> };
    assert.deepEqual(queue.plugins['merge-gate']!.flaky.map((f) => f.taskId), [a.id]);
    assert.deepEqual(queue.plugins['merge-gate']!.leases.map((l) => l.taskId), [a.id]);
  });

  test(`${t0} what merges is what was tested: the merge is pinned to the tested sha; an artefact commit after it may land, code pushed after it may not`, async (t) => {
    const o = await guardedOrigin(t);
    const kit = await kitWith(dialect, o.origin);
    t.after(() => kit.cleanup());
    const a = await taskOn(kit, 'A');
    const tested = await pushBranch(o, a.branch, { 'a.txt': 'a\n' });
    assert.equal((await check(kit, a)).verdict, 'pass');
    const pr = await kit.forge.ensurePullRequest({ repo: REPO, head: a.branch, base: 'main', title: 't', body: '' });
    await kit.conveyor.store.tasks.setPullRequest(a.id, pr.number, pr.url);
    const merges: (string | null | undefined)[] = [];
    const original = kit.forge.mergePullRequest.bind(kit.forge);
    kit.forge.mergePullRequest = async (repo, n, opts) => {
      merges.push(opts?.headSha);
      return original(repo, n, opts);
    };
    const prMerged = async () => {
      const task = (await kit.conveyor.store.tasks.get(a.id))!;
      const s = kit.conveyor.store;
      return kit.conveyor.gates.get('pr_merged').check({ task, stage: 'deploy', finishedAgent: null, readOnly: false, artifacts: kit.artifacts, agentRuns: s.agentRuns, ciStatuses: s.ciStatuses, forge: kit.forge, logger: kit.logger });
    };

    // Code pushed after the re-test (at deploy): refused before any claim or merge call.
    await git(['checkout', '--quiet', a.branch], { cwd: o.seed });
    fs.writeFileSync(path.join(o.seed, 'sneaky.txt'), 'untested\n');
    await commitAll(o.seed, 'pushed after the test');
    await git(['push', '--quiet', 'origin', a.branch], { cwd: o.seed });
    kit.forge.setHead(REPO, a.branch, (await o.head(a.branch))!);
    const refused = await prMerged();
    assert.equal(refused.verdict, 'fail');
    assert.match(refused.reason!, /1 file\(s\) changed after the re-test .*sneaky\.txt.*not what was tested/);
    assert.deepEqual(merges, [], 'nothing merged');
    assert.equal((await kit.conveyor.store.tasks.get(a.id))!.mergeInitiatedAt, null, 'no claim taken');

    // Back to the tested head plus the deployer's artefact only: merged, pinned to that head.
    await git(['reset', '--quiet', '--hard', tested], { cwd: o.seed });
    fs.mkdirSync(path.join(o.seed, 'docs', 'pipeline', a.workItemId), { recursive: true });
    fs.writeFileSync(path.join(o.seed, 'docs', 'pipeline', a.workItemId, '07-deploy.md'), '---\ndeploy_status: ok\n---\n');
    await commitAll(o.seed, 'deployer: report');
    await git(['push', '--quiet', '--force', 'origin', a.branch], { cwd: o.seed });
    const withReport = (await o.head(a.branch))!;
    kit.forge.setHead(REPO, a.branch, withReport);
    assert.equal((await prMerged()).verdict, 'pass');
    assert.deepEqual(merges, [withReport]);
    assertMainNeverPushed(o);
  });

  test(`${t0} retestAttempts 0: one red run rolls back at once`, async (t) => {
    const o = await guardedOrigin(t);
    const kit = await kitWith(dialect, o.origin, { retestAttempts: 0 }, 'echo red; exit 3');
    t.after(() => kit.cleanup());
    const a = await taskOn(kit, 'A');
    await pushBranch(o, a.branch, { 'a.txt': 'a\n' });
    const res = await check(kit, a);
    assert.equal(res.verdict, 'fail');
    assert.match(res.reason!, /failed 1 time\(s\) \(exit 3\)/);
  });
}

test('git safety: the premerge checkout refuses main and protected branches before git runs', async (t) => {
  const o = await guardedOrigin(t);
  const repo = { url: o.origin, mainBranch: 'main', protectedBranches: ['release'] };
  for (const branch of ['main', 'refs/heads/main', 'release', 'HEAD']) {
    await assert.rejects(PremergeCheckout.create(repo, branch), /refusing/, branch);
  }
  await pushBranch(o, 'feature', { 'a.txt': 'a\n' });
  const co = await PremergeCheckout.create(repo, 'feature');
  co.dispose();
  assert.equal(fs.existsSync(co.dir), false, 'the checkout leaves nothing behind');
  assertMainNeverPushed(o);
});

test('disabled, merge-gate adds nothing: the edge is exactly the one without it', async (t) => {
  const bare = await createTestConveyor({});
  t.after(() => bare.cleanup());
  const off = await createTestConveyor({ plugins: [mergeGatePlugin] });
  t.after(() => off.cleanup());
  assert.deepEqual(off.conveyor.gates.snapshot(off.conveyor.pipeline), bare.conveyor.gates.snapshot(bare.conveyor.pipeline));
});

async function waitForRelease(kit: TestConveyor): Promise<void> {
  // The release runs in a listener after the event: wait on the state, not a sleep.
  await eventually(async () => ((await kit.conveyor.store.leases.get(REPO)) === null ? true : undefined), 5_000, 'the lease to be released');
}
