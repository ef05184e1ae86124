import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CoreTokens, DEFAULT_PIPELINE, GitWorkspace, createConveyor, git, silentLogger, type OwnedRoute, type RouteRequest } from '@conveyor/core';
import { commitAll, createBareRepo, createTestConveyor, eventually, testDatabases, type TestConveyor, type TestDialect } from '@conveyor/core/testing';
import { FreezeStore, serialClause, serialGatePlugin } from '../src/index.js';

const req = (over: Partial<RouteRequest>): RouteRequest => ({ params: {}, query: {}, headers: {}, body: undefined, ...over });
const route = (routes: readonly OwnedRoute[], method: string, url: string) => routes.find((r) => r.method === method && r.url === url)!;

async function kitWith(dialect: TestDialect, pluginConfig: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<TestConveyor> {
  return createTestConveyor({ dialect, plugins: [serialGatePlugin], config: { repos: { a: {}, b: {} }, plugins: { 'serial-gate': { enabled: true, ...pluginConfig } }, ...extra } });
}

const claim = (kit: TestConveyor) => kit.conveyor.store.jobs.claim({ hostId: 'h', clauses: kit.conveyor.clauses.list() });
const start = (kit: TestConveyor, repo: string, id: string) => kit.conveyor.intake.startPipeline({ repo, trackerIssueId: id, title: `task ${id}` });
const finish = (kit: TestConveyor, taskId: number, from = 'analysis') => kit.conveyor.engine.completeByMerge(taskId, from, 'merged (test)');

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} ten tasks of one repo created at once run one at a time, in id order, and never deadlock`, async (t) => {
    const kit = await kitWith(dialect);
    t.after(() => kit.cleanup());
    const created = await Promise.all(Array.from({ length: 10 }, (_, i) => start(kit, 'a', `i${i}`)));
    const ids = created.map((c) => c.task.id).sort((x, y) => x - y);
    const order: number[] = [];
    for (const id of ids) {
      const job = await claim(kit);
      assert.ok(job, `a job is claimable while task ${id} is the earliest live one`);
      assert.equal(await claim(kit), null, 'only the earliest live task of the repo is claimable');
      order.push(job.taskId);
      await finish(kit, job.taskId);
    }
    assert.deepEqual(order, ids);
  });

  test(`${t0} a held-back job takes no slot: maxConcurrency 1, a held task of repo a does not stop a ready task of repo b`, async (t) => {
    const kit = await kitWith(dialect, {}, { worker: { enabled: true, maxConcurrency: 1 } });
    t.after(() => kit.cleanup());
    const { task: a1 } = await start(kit, 'a', 'a1');
    const { task: a2, job: a2job } = await start(kit, 'a', 'a2');
    await kit.conveyor.start();
    // a1's analyst runs and parks at the human gate: a1 stays live, so a2 is held.
    await kit.events.waitFor('human.approval_needed', (p) => p.task.id === a1.id);
    const { task: b1 } = await start(kit, 'b', 'b1');
    await kit.events.waitFor('human.approval_needed', (p) => p.task.id === b1.id);
    assert.equal((await kit.conveyor.store.jobs.get(a2job!.id))!.status, 'queued', 'a2 is still held');
    const w = await kit.conveyor.waiting.forTask(a2);
    assert.equal(w.kind, 'held');
    assert.equal(w.sentence, `Queued behind task ${a1.id} (${a1.workItemId}, at analysis): serial-gate runs one task at a time in a, in id order.`);
    assert.deepEqual(w.reasons[0]!.data, { repo: 'a', taskId: a1.id, workItemId: a1.workItemId, stage: 'analysis', blocked: false });
    await finish(kit, a1.id);
    await kit.events.waitFor('human.approval_needed', (p) => p.task.id === a2.id);
  });

  test(`${t0} deploy.degraded freezes the repo durably, alerts, and only an unfreeze lets its tasks run`, async (t) => {
    const kit = await kitWith(dialect);
    t.after(() => kit.cleanup());
    const { task } = await start(kit, 'a', 'f1');
    kit.conveyor.events.emit('deploy.degraded', { taskId: task.id, repo: 'a', reason: 'health check failed 3 times' });
    const freezes = new FreezeStore(kit.conveyor.db.knex, { now: () => Date.now() });
    await eventually(async () => (await freezes.get('a')) !== null, 5_000, 'the freeze');
    await eventually(() => kit.notifier.sent.length === 1, 5_000, 'the alert');
    assert.match(kit.notifier.sent[0]!.text, /serial-gate froze a after a degraded deploy .*conveyor serial-gate unfreeze a/);
    assert.equal(await claim(kit), null, 'a frozen repo runs nothing');
    const { task: other } = await start(kit, 'b', 'f2');
    assert.equal((await claim(kit))!.taskId, other.id, 'other repos still run');

    const w = await kit.conveyor.waiting.forTask(task);
    assert.equal(w.reasons[0]!.kind, 'repo_frozen');
    assert.match(w.sentence, /^a is frozen since \d{4}-.* by deploy\.degraded after task \d+ \(health check failed 3 times\); lift it with `conveyor serial-gate unfreeze a` or POST \/serial-gate\/unfreeze \{"repo": "a"\}\.$/);
    const block = (await kit.conveyor.snapshot()).plugins['serial-gate'] as { frozen: { repo: string; event: string }[] };
    assert.deepEqual(block.frozen.map((f) => [f.repo, f.event]), [['a', 'deploy.degraded']]);

    const unfreeze = route(kit.conveyor.routes, 'POST', '/serial-gate/unfreeze');
    assert.equal(unfreeze.auth, 'token');
    assert.equal((await unfreeze.handler(req({ body: { repo: 'b' } }))).status, 404, 'b was not frozen');
    const res = await unfreeze.handler(req({ body: { repo: 'a' } }));
    assert.equal(res.status, 200);
    assert.equal((await claim(kit))!.taskId, task.id);
  });

  test(`${t0} reading the freeze fails closed; building the clause fails open`, async (t) => {
    const kit = await kitWith(dialect);
    t.after(() => kit.cleanup());
    const { task } = await start(kit, 'a', 'c1');
    await kit.conveyor.db.knex.schema.renameTable('serial_gate_freezes', 'serial_gate_freezes_gone');
    await assert.rejects(claim(kit), 'the claim statement cannot read the freeze and claims nothing');
    assert.equal((await kit.conveyor.store.jobs.activeForTask(task.id))!.status, 'queued');
    const w = await kit.conveyor.waiting.forTask(task);
    assert.match(w.sentence, /The freeze state of a cannot be read .*serial-gate holds its tasks until it can\./);
    await kit.conveyor.db.knex.schema.renameTable('serial_gate_freezes_gone', 'serial_gate_freezes');

    const broken = serialClause({
      repos: new Proxy([] as string[], { get: () => { throw new Error('scope unreadable'); } }),
      freezes: new FreezeStore(kit.conveyor.db.knex, { now: () => 0 }),
      tasks: kit.conveyor.store.tasks,
      earlierLive: async () => null,
    });
    assert.ok(await kit.conveyor.store.jobs.claim({ hostId: 'h', clauses: [broken] }), 'a clause that cannot be built filters nothing');
    assert.ok(kit.logger.lines.some((l) => l.level === 'warn' && l.obj.clause === 'serial-gate'));
  });

  test(`${t0} scope by repos: a repo out of scope is not serialised`, async (t) => {
    const kit = await kitWith(dialect, { repos: ['a'] });
    t.after(() => kit.cleanup());
    await start(kit, 'b', 's1');
    await start(kit, 'b', 's2');
    assert.ok(await claim(kit));
    assert.ok(await claim(kit), 'b is out of scope: both run');
    const { task: b3 } = await start(kit, 'b', 's3');
    assert.equal(b3.branchCut, true, 'out of scope, the branch cut is not deferred');
    const { task: a1 } = await start(kit, 'a', 's4');
    assert.equal(a1.branchCut, false, 'in scope, the branch is cut when the first job is claimed');
  });

  test(`${t0} disabled, the queue behaves exactly as without the plugin`, async (t) => {
    const off = await createTestConveyor({ dialect, plugins: [serialGatePlugin], config: { repos: { a: {} }, plugins: { 'serial-gate': { enabled: false } } } });
    t.after(() => off.cleanup());
    const none = await createTestConveyor({ dialect, config: { repos: { a: {} } } });
    t.after(() => none.cleanup());
    const seen: number[][] = [];
    for (const kit of [off, none]) {
      for (const i of [1, 2, 3]) await start(kit, 'a', `d${i}`);
      const got = [];
      for (let j; (j = await claim(kit)); ) got.push(j.taskId);
      seen.push(got);
      assert.equal(kit.conveyor.clauses.list().length, 0);
    }
    assert.deepEqual(seen[0], seen[1]);
    assert.deepEqual(seen[0], [1, 2, 3]);
    assert.equal(await off.conveyor.db.knex.schema.hasTable('serial_gate_freezes'), false, 'no table of a disabled plugin');
  });
}

test('[sqlite] with serial-gate on, task B is cut from the freshest main: its branch contains task A\'s merged commit', async (t) => {
  const bare = await createBareRepo();
  t.after(() => bare.dispose());
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'serial-ws-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const kit = await createTestConveyor({ plugins: [serialGatePlugin], config: { repos: { app: { url: bare.origin } }, plugins: { 'serial-gate': { enabled: true } }, worker: { enabled: true, maxConcurrency: 2 } } });
  t.after(() => kit.cleanup());
  const gitWs = new GitWorkspace({ root, repos: kit.conveyor.config.repos, pipeline: DEFAULT_PIPELINE, author: { name: 'T', email: 't@localhost' }, logger: kit.logger });
  kit.conveyor.container.register(CoreTokens.Workspace, { useValue: gitWs });

  const { task: a } = await start(kit, 'app', 'A');
  const { task: b } = await start(kit, 'app', 'B');
  assert.equal(b.branchCut, false);
  await kit.conveyor.start();
  await kit.events.waitFor('human.approval_needed', (p) => p.task.id === a.id);
  assert.equal(await bare.head(b.branch), null, 'B has no branch while it waits behind A');

  // A's change lands in main (as its merge would), then A is done.
  const clone = path.join(root, 'clone');
  await git(['clone', '--quiet', bare.origin, clone], { cwd: root });
  fs.writeFileSync(path.join(clone, 'feature-a.txt'), 'A\n');
  await commitAll(clone, "A's merged change");
  await git(['push', '--quiet', 'origin', 'HEAD:main'], { cwd: clone });
  await finish(kit, a.id);

  await kit.events.waitFor('human.approval_needed', (p) => p.task.id === b.id);
  assert.ok((await bare.log(b.branch)).includes("A's merged change"), "B's branch contains A's merged commit");
  assert.equal((await kit.conveyor.store.tasks.get(b.id))!.branchCut, true);
});

test('[sqlite] the freeze is durable: a restarted instance on the same database still holds the repo', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serial-durable-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = { instance: { dataDir: dir }, database: { client: 'sqlite', filename: path.join(dir, 'c.db') }, worker: { enabled: false }, repos: { a: {} }, plugins: { 'serial-gate': { enabled: true } } };
  const first = await createConveyor({ config, plugins: [serialGatePlugin], logger: silentLogger(), env: {} });
  const { task } = await first.intake.startPipeline({ repo: 'a', trackerIssueId: '1', title: 'x' });
  first.events.emit('deploy.degraded', { taskId: task.id, repo: 'a', reason: 'health check failed' });
  await eventually(async () => (await first.db.knex('serial_gate_freezes').where({ repo: 'a' })).length === 1, 5_000, 'the freeze');
  await first.stop();

  const second = await createConveyor({ config, plugins: [serialGatePlugin], logger: silentLogger(), env: {} });
  t.after(() => second.stop());
  assert.equal(await second.store.jobs.claim({ hostId: 'h', clauses: second.clauses.list() }), null, 'still frozen after the restart');
  assert.equal((await second.waiting.forTask(task)).reasons[0]!.kind, 'repo_frozen');
});
