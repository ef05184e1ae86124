import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Task } from '../src/domain.js';
import { DEFAULT_PIPELINE } from '../src/pipeline/pipeline.js';
import { BlobCache } from '../src/workspace/blob-cache.js';
import { GitWorkspace } from '../src/workspace/git-workspace.js';
import { git } from '../src/workspace/git.js';
import { commitAll, createBareRepo, RecordingLogger } from '../src/testing/index.js';

function fakeTask(over: Partial<Task> = {}): Task {
  return {
    id: 1, repo: 'acme/app', trackerIssueId: 'I-1', workItemId: 'ET-001', title: 'Fix login', description: '', stage: 'analysis',
    branch: 'et-001-fix-login', branchCut: true, humanVerdict: null, humanReviewStartedAt: null, humanReviewEndedAt: null,
    developerRetries: 0, createdAt: new Date(), updatedAt: new Date(), cancelRequestedAt: null, cancelledAt: null,
    trackerMessageId: null, blockedReason: null, blockedAt: null, blockedKind: null, budgetUsd: null, stageBudgets: {}, prNumber: null, prUrl: null, mergeInitiatedAt: null, mergedAt: null, deployConfirmedAt: null,
    ...over,
  };
}

const ARTIFACT = 'docs/pipeline/ET-001/01-analysis.md';

async function setup(t: { after: (fn: () => void) => void }) {
  const repo = await createBareRepo({ 'README.md': '# app\n' });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-wsroot-'));
  const ws = new GitWorkspace({
    root,
    repos: { 'acme/app': { url: repo.origin, mainBranch: 'main', protectedBranches: [] } },
    pipeline: DEFAULT_PIPELINE,
    author: { name: 'Conveyor', email: 'conveyor@localhost' },
    logger: new RecordingLogger(),
  });
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-other-'));
  t.after(() => {
    repo.dispose();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(other, { recursive: true, force: true });
  });
  /** Someone else pushes a new version of the analysis to the task branch. */
  const pushElsewhere = async (verdict: string) => {
    fs.rmSync(other, { recursive: true, force: true });
    await git(['clone', '--quiet', '--branch', 'et-001-fix-login', repo.origin, other], { cwd: os.tmpdir() });
    fs.writeFileSync(path.join(other, ARTIFACT), `---\nverdict: ${verdict}\n---\n`);
    await commitAll(other, `elsewhere: ${verdict}`);
    await git(['push', '--quiet', 'origin', 'et-001-fix-login'], { cwd: other });
  };
  return { repo, ws, pushElsewhere };
}

async function pushAnalysis(ws: GitWorkspace, task: Task, verdict: string): Promise<string> {
  const dir = await ws.prepare(task);
  fs.mkdirSync(path.join(dir, path.dirname(ARTIFACT)), { recursive: true });
  fs.writeFileSync(path.join(dir, ARTIFACT), `---\nverdict: ${verdict}\n---\n`);
  return (await ws.commitAndPush(task, 'analyst')).sha;
}

test('during the job that pushed it, an artefact is read at the pushed commit; once the job ends or the task moves, from a fetch', async (t) => {
  const { ws, pushElsewhere } = await setup(t);
  const task = fakeTask();
  await pushAnalysis(ws, task, 'mine');
  // Not something a job lets happen: it shows which commit each read looked at.
  await pushElsewhere('theirs');
  assert.equal((await ws.read(task, 'analysis'))?.frontMatter.verdict, 'mine', 'read at the job\'s own push, no fetch');
  assert.equal((await ws.read({ ...task, stage: 'architecture' }, 'analysis'))?.frontMatter.verdict, 'theirs', 'the task moved on: fetched');
  assert.equal((await ws.read({ ...task, developerRetries: 1 }, 'analysis'))?.frontMatter.verdict, 'theirs', 'a rollback to the same stage: fetched');
  assert.equal((await ws.read(task, 'analysis'))?.frontMatter.verdict, 'mine', 'still the job\'s own push');
  ws.jobEnded(task);
  assert.equal((await ws.read(task, 'analysis'))?.frontMatter.verdict, 'theirs', 'the job ended: fetched');
});

test('a push that fails ends what the workspace knew of the branch: the next read fetches', async (t) => {
  const { ws, pushElsewhere } = await setup(t);
  const task = fakeTask();
  const dir = ws.worktreeDir(task);
  await pushAnalysis(ws, task, 'mine');
  await pushElsewhere('theirs');
  fs.writeFileSync(path.join(dir, 'more.txt'), 'more\n');
  await assert.rejects(ws.commitAndPush(task, 'second push'), /git push/);
  assert.equal((await ws.read(task, 'analysis'))?.frontMatter.verdict, 'theirs');
});

test('the next prepare starts from the origin, not from what this process pushed', async (t) => {
  const { ws, pushElsewhere } = await setup(t);
  const task = fakeTask();
  await pushAnalysis(ws, task, 'mine');
  await pushElsewhere('theirs');
  const dir = await ws.prepare({ ...task, stage: 'architecture' });
  assert.match(fs.readFileSync(path.join(dir, ARTIFACT), 'utf8'), /verdict: theirs/);
});

test('two tasks of one repository prepared, committed by their agents and pushed at the same time each land with their own commits', async (t) => {
  const { repo, ws } = await setup(t);
  const tasks = [1, 2, 3].map((id) => fakeTask({ id, workItemId: `ET-00${id}`, branch: `et-00${id}-task` }));
  await Promise.all(
    tasks.map(async (task) => {
      const dir = await ws.prepare(task);
      fs.writeFileSync(path.join(dir, `${task.branch}.txt`), 'agent\n');
      await commitAll(dir, `agent of ${task.branch}`);
      fs.writeFileSync(path.join(dir, 'uncommitted.txt'), `${task.branch}\n`);
      await ws.commitAndPush(task, `conveyor ${task.branch}`);
    }),
  );
  for (const task of tasks) {
    assert.deepEqual(await repo.log(task.branch), [`conveyor ${task.branch}`, `agent of ${task.branch}`, 'initial commit']);
    const files = (await git(['ls-tree', '--name-only', task.branch], { cwd: repo.origin })).stdout.split('\n');
    assert.deepEqual(files.sort(), ['README.md', `${task.branch}.txt`, 'uncommitted.txt']);
    assert.equal((await git(['show', `${task.branch}:uncommitted.txt`], { cwd: repo.origin })).stdout, task.branch);
  }
});

test('stage after stage on one host, each push holds exactly the worktree, tracked ignored files included, also after a push from elsewhere', async (t) => {
  const { repo, ws } = await setup(t);
  // main tracks a file its own .gitignore ignores.
  const seed = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-seed-'));
  t.after(() => fs.rmSync(seed, { recursive: true, force: true }));
  await git(['clone', '--quiet', repo.origin, seed], { cwd: os.tmpdir() });
  fs.writeFileSync(path.join(seed, '.gitignore'), '*.log\n');
  fs.writeFileSync(path.join(seed, 'keep.log'), 'kept\n');
  await git(['add', '-f', '.gitignore', 'keep.log'], { cwd: seed });
  await commitAll(seed, 'ignored but tracked');
  await git(['push', '--quiet', 'origin', 'main'], { cwd: seed });
  const files = async (task: Task) => (await git(['ls-tree', '-r', '--name-only', task.branch], { cwd: repo.origin })).stdout.split('\n').sort();
  const task = fakeTask();
  let dir = await ws.prepare(task);
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  await ws.commitAndPush(task, 'one');
  ws.jobEnded(task);
  assert.deepEqual(await files(task), ['.gitignore', 'README.md', 'a.txt', 'keep.log']);
  const second = { ...task, stage: 'architecture' };
  dir = await ws.prepare(second);
  fs.rmSync(path.join(dir, 'a.txt'));
  fs.writeFileSync(path.join(dir, 'b.txt'), 'b\n');
  await ws.commitAndPush(second, 'two');
  ws.jobEnded(second);
  assert.deepEqual(await files(task), ['.gitignore', 'README.md', 'b.txt', 'keep.log']);
  // Someone else adds a file: the next stage starts from it and keeps it.
  await git(['fetch', '--quiet', 'origin', task.branch], { cwd: seed });
  await git(['checkout', '--quiet', '-b', task.branch, 'FETCH_HEAD'], { cwd: seed });
  fs.writeFileSync(path.join(seed, 'c.txt'), 'c\n');
  await commitAll(seed, 'elsewhere');
  await git(['push', '--quiet', 'origin', task.branch], { cwd: seed });
  const third = { ...task, stage: 'development' };
  dir = await ws.prepare(third);
  fs.writeFileSync(path.join(dir, 'd.txt'), 'd\n');
  await ws.commitAndPush(third, 'three');
  assert.deepEqual(await files(task), ['.gitignore', 'README.md', 'b.txt', 'c.txt', 'd.txt', 'keep.log']);
  assert.deepEqual(await repo.log(task.branch), ['three', 'elsewhere', 'two', 'one', 'ignored but tracked', 'initial commit']);
});

test('the blob cache keeps the most recently used entries within its bounds, absent files included', () => {
  const cache = new BlobCache(2, 10);
  cache.set('a', 'aaaa');
  cache.set('b', null);
  assert.equal(cache.get('a'), 'aaaa');
  cache.set('c', 'cc');
  assert.equal(cache.get('b'), undefined, 'the least recently used entry went');
  assert.equal(cache.get('a'), 'aaaa');
  cache.set('d', 'dddddddd');
  assert.equal(cache.get('a'), undefined, 'over the size budget: the oldest went');
  assert.equal(cache.get('d'), 'dddddddd');
  cache.set('e', 'x'.repeat(11));
  assert.equal(cache.get('e'), undefined, 'larger than the whole budget: not kept');
  assert.equal(cache.size, 1);
});
