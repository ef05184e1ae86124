import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Task } from '../src/domain.js';
import { DEFAULT_PIPELINE } from '../src/pipeline/pipeline.js';
import { GitWorkspace } from '../src/workspace/git-workspace.js';
import { git } from '../src/workspace/git.js';
import { armFaultPoint } from '../src/util/fault-point.js';
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

async function setup(t: { after: (fn: () => void) => void }, hook?: string) {
  const repo = await createBareRepo({ 'README.md': '# app\n' });
  if (hook) {
    fs.writeFileSync(path.join(repo.origin, 'hooks', 'pre-receive'), hook, { mode: 0o755 });
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-wsroot-'));
  const ws = new GitWorkspace({
    root,
    repos: { 'acme/app': { url: repo.origin, mainBranch: 'main', protectedBranches: ['release'] } },
    pipeline: DEFAULT_PIPELINE,
    author: { name: 'Conveyor', email: 'conveyor@localhost' },
    logger: new RecordingLogger(),
  });
  t.after(() => {
    repo.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { repo, ws, root };
}

test('prepare cuts the task branch from the freshest origin/main into a worktree inside the root', async (t) => {
  const { repo, ws, root } = await setup(t);
  const task = fakeTask();
  const dir = await ws.prepare(task);
  assert.ok(dir.startsWith(fs.realpathSync(root) + path.sep) || dir.startsWith(root + path.sep));
  assert.equal(path.basename(dir), 'et-001-fix-login');
  assert.equal((await git(['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: dir })).stdout, 'et-001-fix-login');
  assert.equal((await git(['rev-parse', 'HEAD'], { cwd: dir })).stdout, await repo.head('main'));
});

test('commitAndPush commits the agent\'s changes and pushes only the task branch; the artefact is read from the pushed branch', async (t) => {
  const { repo, ws } = await setup(t);
  const task = fakeTask();
  const dir = await ws.prepare(task);
  fs.mkdirSync(path.join(dir, 'docs/pipeline/ET-001'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'docs/pipeline/ET-001/01-analysis.md'), '---\nverdict: ok\nscore: 3\n---\nThe plan.\n');
  assert.equal(await ws.read(task, 'analysis'), null, 'nothing pushed yet');
  const out = await ws.commitAndPush(task, 'analyst: ET-001 analysis');
  assert.equal(out.committed, true);
  assert.equal(await repo.head('et-001-fix-login'), out.sha);
  assert.deepEqual(await repo.log('et-001-fix-login'), ['analyst: ET-001 analysis', 'initial commit']);
  assert.deepEqual(await repo.log('main'), ['initial commit'], 'main is untouched');
  const artifact = (await ws.read(task, 'analysis'))!;
  assert.equal(artifact.path, 'docs/pipeline/ET-001/01-analysis.md');
  assert.deepEqual(artifact.frontMatter, { verdict: 'ok', score: 3 });
  assert.equal(artifact.body, 'The plan.');
  // Nothing new: a second push is a no-op commit-wise.
  const again = await ws.commitAndPush(task, 'again');
  assert.deepEqual(again, { sha: out.sha, committed: false });
});

test('an agent that committed itself and switched branches still lands on the task branch', async (t) => {
  const { repo, ws } = await setup(t);
  const task = fakeTask();
  const dir = await ws.prepare(task);
  fs.writeFileSync(path.join(dir, 'a.txt'), 'one\n');
  await commitAll(dir, 'agent commit');
  await git(['checkout', '--quiet', '-b', 'scratch'], { cwd: dir });
  await git(['checkout', '--quiet', 'et-001-fix-login'], { cwd: dir });
  fs.writeFileSync(path.join(dir, 'b.txt'), 'two\n');
  await ws.commitAndPush(task, 'developer: ET-001 development');
  assert.deepEqual(await repo.log('et-001-fix-login'), ['developer: ET-001 development', 'agent commit', 'initial commit']);
});

test('prepare starts from the remote state: leftovers of a crashed run are gone, remote commits are in', async (t) => {
  const { ws } = await setup(t);
  const task = fakeTask();
  const dir = await ws.prepare(task);
  fs.writeFileSync(path.join(dir, 'kept.txt'), 'pushed\n');
  await ws.commitAndPush(task, 'first');
  fs.writeFileSync(path.join(dir, 'junk.txt'), 'half-written by a crashed agent\n');
  fs.writeFileSync(path.join(dir, 'kept.txt'), 'modified but never pushed\n');
  const again = await ws.prepare(task);
  assert.equal(again, dir);
  assert.equal(fs.existsSync(path.join(dir, 'junk.txt')), false);
  assert.equal(fs.readFileSync(path.join(dir, 'kept.txt'), 'utf8'), 'pushed\n');
});

test('Conveyor refuses in code to push to main or a protected branch; the hook proves nothing reached the origin', async (t) => {
  const { repo, ws } = await setup(t, '#!/bin/sh\nwhile read old new ref; do echo "$ref" >> "$GIT_DIR/pushed-refs"; done\nexit 0\n');
  await assert.rejects(ws.prepare(fakeTask({ branch: 'main' })), /refusing to push to or delete "main"/);
  await assert.rejects(ws.prepare(fakeTask({ branch: 'release' })), /refusing to push to or delete "release"/);
  const task = fakeTask();
  await ws.prepare(task);
  await assert.rejects(ws.commitAndPush({ ...task, branch: 'main' }, 'sneaky'), /refusing/);
  assert.equal(fs.existsSync(path.join(repo.origin, 'pushed-refs')), false, 'no push reached the origin');
  await ws.commitAndPush(task, 'legit');
  assert.equal(fs.readFileSync(path.join(repo.origin, 'pushed-refs'), 'utf8').trim(), 'refs/heads/et-001-fix-login');
});

test('a branch moved on the remote (rebased elsewhere) makes the push fail instead of forcing it', async (t) => {
  const { repo, ws } = await setup(t);
  const task = fakeTask();
  const dir = await ws.prepare(task);
  fs.writeFileSync(path.join(dir, 'x.txt'), 'x\n');
  await ws.commitAndPush(task, 'one');
  // Someone else rewrites the branch on the origin.
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-other-'));
  t.after(() => fs.rmSync(other, { recursive: true, force: true }));
  await git(['clone', '--quiet', '--branch', 'et-001-fix-login', repo.origin, other], { cwd: os.tmpdir() });
  await git(['reset', '--quiet', '--hard', 'HEAD~1'], { cwd: other });
  fs.writeFileSync(path.join(other, 'y.txt'), 'y\n');
  await commitAll(other, 'rewritten');
  await git(['push', '--quiet', '--force', 'origin', 'et-001-fix-login'], { cwd: other });
  fs.writeFileSync(path.join(dir, 'z.txt'), 'z\n');
  await assert.rejects(ws.commitAndPush(task, 'two'), /git push/);
  assert.deepEqual(await repo.log('et-001-fix-login'), ['rewritten', 'initial commit']);
});

test('keys are sanitised and paths cannot escape the root', async (t) => {
  const { ws, root } = await setup(t);
  assert.equal(path.basename(ws.worktreeDir({ repo: 'acme/app', branch: 'feature/../../etc' })), 'feature_.._.._etc');
  assert.ok(ws.worktreeDir({ repo: '../../x', branch: 'b' }).startsWith(path.resolve(root)));
  await assert.rejects(ws.prepare(fakeTask({ repo: 'unknown/repo' })), /repos\.unknown\/repo\.url is not configured/);
});

test('cleanup removes the worktree and git forgets it', async (t) => {
  const { ws } = await setup(t);
  const task = fakeTask();
  const dir = await ws.prepare(task);
  await ws.cleanup(task);
  assert.equal(fs.existsSync(dir), false);
  const list = (await git(['worktree', 'list'], { cwd: ws.mirrorDir('acme/app') })).stdout;
  assert.doesNotMatch(list, /et-001-fix-login/);
  assert.equal(await ws.prepare(task), dir, 'it can be prepared again');
});

test('a branch name that could reach main by another spelling is refused', async () => {
  const { assertTaskBranch, isValidBranchName } = await import('../src/workspace/git.js');
  const repo = { mainBranch: 'main', protectedBranches: ['release'] };
  for (const bad of ['et-001-x/../main', '../main', 'a//b', 'x@{0}', 'a b', '.hidden', 'x.lock', 'x:y', '-x', '']) {
    assert.equal(isValidBranchName(bad), false, bad);
    assert.throws(() => assertTaskBranch(bad, repo), /refusing/, bad);
  }
  for (const ok of ['et-001-fix-login', 'feature/et-001', 'et-001-x-b77']) assert.doesNotThrow(() => assertTaskBranch(ok, repo), ok);
  assert.throws(() => assertTaskBranch('refs/heads/main', repo), /main or a protected branch/);
});

test('a kill during the first creation of the mirror leaves nothing half-made: the next prepare works', async (t) => {
  const { ws, root } = await setup(t);
  const disarm = armFaultPoint('workspace.mirror-init', { action: () => { throw new Error('simulated kill'); } });
  await assert.rejects(ws.prepare(fakeTask()), /simulated kill/);
  disarm();
  assert.equal(fs.existsSync(ws.mirrorDir('acme/app')), false, 'no mirror at its final name');
  // What a kill during `git init` of an older version left: a HEAD and nothing else.
  fs.mkdirSync(ws.mirrorDir('acme/app'), { recursive: true });
  fs.writeFileSync(path.join(ws.mirrorDir('acme/app'), 'HEAD'), 'ref: refs/heads/main\n');
  // And the temporary directory of a build whose process died.
  const dead = deadPid();
  fs.mkdirSync(`${ws.mirrorDir('acme/app')}.tmp-${dead}-abcd`);
  const dir = await ws.prepare(fakeTask());
  assert.equal((await git(['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: dir })).stdout, 'et-001-fix-login');
  assert.deepEqual(fs.readdirSync(path.join(root, 'mirrors')), ['acme_app.git'], 'repaired, and the dead build\'s leftover removed');
  assert.doesNotMatch(fs.readFileSync(path.join(ws.mirrorDir('acme/app'), 'config'), 'utf8'), /remote|url/, 'the origin URL is stored in no file of the new mirror');
});

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

test('an agent run again after a crash, committing its own change to a file Conveyor committed before, still lands (a stale private index is rebuilt)', async (t) => {
  const { repo, ws, root } = await setup(t);
  const task = fakeTask();
  const dir = await ws.prepare(task);
  fs.mkdirSync(path.join(dir, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'docs/01-analysis.md'), 'first run\n');
  await ws.commitAndPush(task, 'analyst: first run');
  // The host is killed and restarted: a new workspace, the same root and private index.
  const restarted = new GitWorkspace({
    root,
    repos: { 'acme/app': { url: repo.origin, mainBranch: 'main', protectedBranches: ['release'] } },
    pipeline: DEFAULT_PIPELINE,
    author: { name: 'Conveyor', email: 'conveyor@localhost' },
    logger: new RecordingLogger(),
  });
  await restarted.prepare(task);
  fs.writeFileSync(path.join(dir, 'docs/01-analysis.md'), 'second run, a longer text than the first\n');
  await commitAll(dir, 'agent: second run');
  const out = await restarted.commitAndPush(task, 'analyst: second run');
  assert.equal(await repo.head('et-001-fix-login'), out.sha);
  assert.deepEqual(await repo.log('et-001-fix-login'), ['agent: second run', 'analyst: first run', 'initial commit']);
});
