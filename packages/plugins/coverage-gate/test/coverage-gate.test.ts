import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CoreTokens, definePlugin, git, parseFrontMatter, type Database, type GateResult, type OwnedRoute, type Task } from '@conveyor/core';
import { commitAll, createBareRepo, createTestConveyor, eventually, testDatabases, type BareRepo, type TestConveyor, type TestDialect, gateContext, taskAtStage } from '@conveyor/core/testing';
import { CoverageStore, coverageGatePlugin, coverageVerdict, readCoverage, readCoveragePy, readIstanbulSummary, readLcov } from '../src/index.js';

const REPO = 'acme/app';

/** Writes an istanbul summary with the percentage in `pct.txt` of the checked-out tree. */
const COMMAND = 'mkdir -p coverage && printf \'{"total":{"lines":{"total":100,"covered":%s,"pct":%s}}}\' "$(cat pct.txt)" "$(cat pct.txt)" > coverage/coverage-summary.json';

async function origin(t: { after(fn: () => void): void }): Promise<BareRepo & { seed: string; refusals: string }> {
  const repo = await createBareRepo({ 'README.md': '# app\n', 'pct.txt': '80' });
  t.after(() => repo.dispose());
  const refusals = path.join(repo.dir, 'refused-pushes');
  fs.writeFileSync(path.join(repo.origin, 'hooks', 'pre-receive'), `#!/bin/sh\nwhile read old new ref; do\n  if [ "$ref" = refs/heads/main ]; then echo "$ref" >> "${refusals}"; exit 1; fi\ndone\nexit 0\n`, { mode: 0o755 });
  const seed = path.join(repo.dir, 'work');
  await git(['clone', '--quiet', repo.origin, seed], { cwd: repo.dir });
  return Object.assign(repo, { seed, refusals });
}

async function pushBranch(o: { seed: string }, branch: string, pct: string): Promise<void> {
  await git(['fetch', '--quiet', 'origin'], { cwd: o.seed });
  await git(['checkout', '--quiet', '-B', branch, 'origin/main'], { cwd: o.seed });
  fs.writeFileSync(path.join(o.seed, 'pct.txt'), pct);
  await commitAll(o.seed, `coverage ${pct}`);
  await git(['push', '--quiet', 'origin', `${branch}:refs/heads/${branch}`], { cwd: o.seed });
}

function kitWith(dialect: TestDialect, url: string, plugin: Record<string, unknown> = {}): Promise<TestConveyor> {
  return createTestConveyor({ dialect, plugins: [coverageGatePlugin], config: { repos: { [REPO]: { url } }, plugins: { 'coverage-gate': { enabled: true, command: COMMAND, minimum: 50, ...plugin } } } });
}

function taskOn(kit: TestConveyor, issue: string): Promise<Task> {
  return taskAtStage(kit, REPO, issue, 'deploy-staging');
}

function check(kit: TestConveyor, task: Task): Promise<GateResult> {
  return kit.conveyor.gates.get('coverage_gate').check(gateContext(kit, task, 'deploy-staging'));
}

test('readers: istanbul summary, coverage.py JSON and lcov give line coverage; malformed reports are reading errors', () => {
  assert.deepEqual(readIstanbulSummary('{"total":{"lines":{"total":200,"covered":150,"pct":75}}}'), { percent: 75, format: 'istanbul' });
  assert.deepEqual(readIstanbulSummary('{"total":{"lines":{"total":0,"covered":0,"pct":"Unknown"}}}'), { percent: 100, format: 'istanbul' });
  assert.ok('error' in readIstanbulSummary('{"total":{}}'));
  assert.deepEqual(readCoveragePy('{"totals":{"covered_lines":2,"num_statements":3}}'), { percent: 66.67, format: 'coverage-py' });
  assert.ok('error' in readCoveragePy('{"totals":{"covered_lines":5,"num_statements":3}}'));
  assert.deepEqual(readLcov('TN:\nSF:a.js\nLF:10\nLH:5\nend_of_record\nSF:b.js\nLF:10\nLH:10\nend_of_record\n'), { percent: 75, format: 'lcov' });
  assert.ok('error' in readLcov('garbage'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-cov-'));
  try {
    assert.match((readCoverage(dir) as { error: string }).error, /no coverage report found/);
    fs.writeFileSync(path.join(dir, 'coverage.json'), '{not json');
    assert.match((readCoverage(dir) as { error: string }).error, /coverage\.json is not valid coverage-py/);
    assert.match((readCoverage(dir, '../../etc/passwd') as { error: string }).error, /leaves the checkout/);
    fs.writeFileSync(path.join(dir, 'coverage.json'), '{"totals":{"covered_lines":9,"num_statements":10}}');
    assert.deepEqual(readCoverage(dir), { percent: 90, format: 'coverage-py' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the verdict is a pure function: absolute | baseline | both, epsilon, bootstrap, fail-open and fail-closed', () => {
  const base = { minimum: 70, epsilon: 0.5, failClosed: false };
  assert.equal(coverageVerdict({ ...base, value: 69, baseline: null, mode: 'absolute' }).status, 'fail');
  assert.equal(coverageVerdict({ ...base, value: 71, baseline: 90, mode: 'absolute' }).status, 'pass', 'absolute ignores the baseline');
  assert.equal(coverageVerdict({ ...base, value: 60, baseline: 60.4, mode: 'baseline' }).status, 'pass', 'within epsilon, the minimum is not applied');
  assert.equal(coverageVerdict({ ...base, value: 59.9, baseline: 60.5, mode: 'baseline' }).status, 'fail');
  const boot = coverageVerdict({ ...base, value: 75, baseline: null, mode: 'baseline' });
  assert.deepEqual([boot.status, boot.bootstrap], ['pass', true], 'no baseline yet: bootstrap, absolute only');
  assert.equal(coverageVerdict({ ...base, value: 65, baseline: null, mode: 'both' }).status, 'fail');
  assert.equal(coverageVerdict({ ...base, value: 80, baseline: 81, mode: 'both' }).status, 'fail');
  assert.equal(coverageVerdict({ ...base, value: 80.6, baseline: 81, mode: 'both' }).status, 'pass');
  assert.equal(coverageVerdict({ ...base, value: null, baseline: 81, mode: 'both' }).status, 'skipped');
  assert.equal(coverageVerdict({ ...base, failClosed: true, value: null, baseline: 81, mode: 'both' }).status, 'fail');
});

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} the baseline ratchets by compare-and-set: 20 concurrent raises leave the maximum, it never decreases, an override may`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [coverageGatePlugin], config: { plugins: { 'coverage-gate': { enabled: true } } } });
    t.after(() => kit.cleanup());
    const store = new CoverageStore(kit.conveyor.db.knex, { now: () => Date.now() });
    const values = Array.from({ length: 20 }, (_, i) => 50 + ((i * 7) % 20) + i / 100);
    await Promise.all(values.map((v) => store.ratchet(REPO, v)));
    assert.equal((await store.baseline(REPO))!.value, Math.max(...values));
    assert.equal(await store.ratchet(REPO, 10), false, 'never down');
    assert.equal((await store.baseline(REPO))!.value, Math.max(...values));
    const route = kit.conveyor.routes.find((r: OwnedRoute) => r.method === 'POST' && r.url === '/coverage/baseline')!;
    assert.equal(route.auth, 'token');
    const res = await route.handler({ params: {}, query: {}, headers: {}, body: { repo: REPO, value: 42 } });
    assert.equal(res.status, 200);
    assert.deepEqual([(await store.baseline(REPO))!.value, (await store.baseline(REPO))!.source], [42, 'override']);
  });

  test(`${t0} the gate measures the branch head, writes the coverage report artefact, bootstraps, ratchets on done, and fails with an alert below the baseline`, async (t) => {
    const o = await origin(t);
    const kit = await kitWith(dialect, o.origin);
    t.after(() => kit.cleanup());
    const a = await taskOn(kit, 'A');
    await pushBranch(o, a.branch, '81.5');
    assert.equal((await check(kit, a)).verdict, 'pass', 'bootstrap: no baseline, above the minimum');
    const report = (await o.show(a.branch, `docs/pipeline/${a.workItemId}/06-coverage-report.md`))!;
    assert.ok(report, 'the artefact is committed to the branch');
    const fm = parseFrontMatter(report).frontMatter;
    assert.deepEqual([fm.coverage_status, fm.coverage_value, fm.coverage_baseline, fm.coverage_mode], ['pass', 81.5, null, 'both']);
    await kit.conveyor.db.knex('tasks').where({ id: a.id }).update({ stage: 'deploy' });
    await kit.conveyor.engine.completeByMerge(a.id, 'deploy', 'merged (test)');
    const store = new CoverageStore(kit.conveyor.db.knex, { now: () => Date.now() });
    await eventually(async () => (await store.baseline(REPO))?.value === 81.5 || undefined, 5_000, 'the baseline ratchet on done');

    const b = await taskOn(kit, 'B');
    await pushBranch(o, b.branch, '79');
    const res = await check(kit, b);
    assert.equal(res.verdict, 'fail');
    assert.match(res.reason!, /79\.00% fell below the baseline 81\.50%/);
    assert.equal(kit.notifier.sent.filter((n) => n.kind === 'alert').length, 1);
    assert.equal(parseFrontMatter((await o.show(b.branch, `docs/pipeline/${b.workItemId}/06-coverage-report.md`))!).frontMatter.coverage_status, 'fail');
    const queue = (await kit.conveyor.snapshot()) as { plugins: Record<string, { baselines: { value: number }[]; lastVerdicts: { status: string }[] }> };
    assert.deepEqual(queue.plugins['coverage-gate']!.baselines.map((x) => x.value), [81.5]);
    assert.deepEqual(queue.plugins['coverage-gate']!.lastVerdicts.map((x) => x.status), ['fail']);
    assert.equal(fs.existsSync(o.refusals), false, 'main was never pushed');
  });

  test(`${t0} the ratchet on done is written before the late hooks of done run (where merge-gate gives the lease back), whatever the plugin order`, async (t) => {
    const o = await origin(t);
    const seen: (number | null)[] = [];
    // Registered before coverage-gate: only lateness puts it after the ratchet.
    const lateProbe = definePlugin({
      name: 'late-probe',
      register(ctx) {
        const store = new CoverageStore(ctx.container.resolve<Database>(CoreTokens.Database).knex, { now: () => Date.now() });
        ctx.onStageEnter('done', async (task) => void seen.push((await store.baseline(task.repo))?.value ?? null), { late: true });
      },
    });
    const kit = await createTestConveyor({ dialect, plugins: [lateProbe, coverageGatePlugin], config: { repos: { [REPO]: { url: o.origin } }, plugins: { 'coverage-gate': { enabled: true, command: COMMAND, minimum: 50 } } } });
    t.after(() => kit.cleanup());
    const a = await taskOn(kit, 'A');
    await pushBranch(o, a.branch, '83');
    assert.equal((await check(kit, a)).verdict, 'pass');
    await kit.conveyor.db.knex('tasks').where({ id: a.id }).update({ stage: 'deploy' });
    assert.ok(await kit.conveyor.engine.completeByMerge(a.id, 'deploy', 'merged (test)'));
    assert.deepEqual(seen, [83], 'the late hook saw the raised baseline');
  });

  test(`${t0} a coverage tool error fails open with a warning (skipped), or closed when configured`, async (t) => {
    const o = await origin(t);
    const open = await kitWith(dialect, o.origin, { command: 'echo broken >&2; exit 2' });
    t.after(() => open.cleanup());
    const a = await taskOn(open, 'A');
    await pushBranch(o, a.branch, '10');
    assert.equal((await check(open, a)).verdict, 'pass');
    assert.equal(parseFrontMatter((await o.show(a.branch, `docs/pipeline/${a.workItemId}/06-coverage-report.md`))!).frontMatter.coverage_status, 'skipped');
    assert.ok(open.logger.lines.some((l) => /fail-open/.test(String(l.msg))));
    const closed = await kitWith(dialect, o.origin, { command: 'exit 2', failClosed: true });
    t.after(() => closed.cleanup());
    const b = await taskOn(closed, 'B');
    await pushBranch(o, b.branch, '10');
    assert.equal((await check(closed, b)).verdict, 'fail');
  });
}

test('disabled, coverage-gate adds nothing: the edge is exactly the one without it', async (t) => {
  const bare = await createTestConveyor({});
  t.after(() => bare.cleanup());
  const off = await createTestConveyor({ plugins: [coverageGatePlugin] });
  t.after(() => off.cleanup());
  assert.deepEqual(off.conveyor.gates.snapshot(off.conveyor.pipeline), bare.conveyor.gates.snapshot(bare.conveyor.pipeline));
  assert.equal(off.conveyor.routes.some((r) => r.url === '/coverage/baseline'), false);
});
