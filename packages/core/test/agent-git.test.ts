import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Task } from '../src/domain.js';
import { DEFAULT_PIPELINE } from '../src/pipeline/pipeline.js';
import { agentGit } from '../src/workspace/agent-git.js';
import { GitWorkspace } from '../src/workspace/git-workspace.js';
import { git } from '../src/workspace/git.js';
import { createBareRepo, RecordingLogger } from '../src/testing/index.js';

const HOOKS = ['pre-commit', 'prepare-commit-msg', 'commit-msg', 'post-commit', 'post-checkout', 'post-merge', 'pre-push', 'reference-transaction', 'post-index-change', 'pre-auto-gc', 'post-rewrite'];
const SECRET = 'conveyor-host-secret-4711';

/**
 * Plants, in the agent's repository `dir`, every mechanism that names a program
 * git would run: hooks (in .git/hooks and through core.hooksPath), a fsmonitor,
 * an ssh command, a credential helper, url rewriting, an alternate-refs command,
 * clean/smudge/process filter drivers (through .gitattributes and
 * .git/info/attributes; left out with `filters: false`), a pager, an editor, a signing program, auto-gc. Each
 * program records its run and its environment in `marks`.
 */
async function plant(dir: string, marks: string, opts: { filters?: boolean } = {}): Promise<void> {
  const evil = path.join(dir, '.git', 'evil');
  fs.mkdirSync(evil, { recursive: true });
  const program = (name: string) => {
    const file = path.join(evil, name);
    fs.writeFileSync(file, `#!/bin/sh\nenv > "${marks}/${name}.$$"\ncat\n`, { mode: 0o755 });
    return file;
  };
  const hooks = path.join(dir, '.git', 'hooks');
  fs.mkdirSync(hooks, { recursive: true });
  for (const h of HOOKS) fs.copyFileSync(program(`hook-${h}`), path.join(hooks, h));
  fs.chmodSync(hooks, 0o755);
  for (const h of HOOKS) fs.chmodSync(path.join(hooks, h), 0o755);
  const config: Array<[string, string]> = [
    ['core.hooksPath', hooks],
    ['core.fsmonitor', program('fsmonitor')],
    ['core.sshCommand', program('ssh')],
    ['credential.helper', `!${program('credential')}`],
    ['core.askPass', program('askpass')],
    ['core.alternateRefsCommand', program('alternate-refs')],
    ...(opts.filters === false
      ? []
      : ([
          ['filter.evil.clean', program('filter-clean')],
          ['filter.evil.smudge', program('filter-smudge')],
          ['filter.evil.process', program('filter-process')],
          ['filter.evil.required', 'true'],
        ] as Array<[string, string]>)),
    ['core.pager', program('pager')],
    ['core.editor', program('editor')],
    ['gpg.program', program('gpg')],
    ['commit.gpgSign', 'true'],
    ['gc.auto', '1'],
    ['diff.external', program('diff')],
    [`url.ext::${program('ext')} %S.insteadOf`, '/'],
  ];
  for (const [k, v] of config) await git(['config', '--file', path.join(dir, '.git', 'config'), '--add', k, v], { cwd: os.tmpdir() });
  if (opts.filters === false) return;
  fs.writeFileSync(path.join(dir, '.gitattributes'), '* filter=evil\n');
  fs.mkdirSync(path.join(dir, '.git', 'info'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.git', 'info', 'attributes'), '* filter=evil\n');
}

function fakeTask(): Task {
  return { id: 1, repo: 'acme/app', workItemId: 'ET-001', branch: 'et-001-x', title: 'x' } as Task;
}

async function setup(t: { after: (fn: () => void) => void }) {
  const repo = await createBareRepo({ 'README.md': '# app\n' });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-agentgit-'));
  const marks = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-marks-'));
  const ws = new GitWorkspace({ root, repos: { 'acme/app': { url: repo.origin, mainBranch: 'main', protectedBranches: [] } }, pipeline: DEFAULT_PIPELINE, author: { name: 'Conveyor', email: 'c@localhost' }, logger: new RecordingLogger() });
  process.env.CONVEYOR_TEST_HOST_SECRET = SECRET;
  t.after(() => {
    delete process.env.CONVEYOR_TEST_HOST_SECRET;
    repo.dispose();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(marks, { recursive: true, force: true });
  });
  return { repo, root, marks, ws };
}

test('the config planted by the test runs under plain git (the plant is real)', async (t) => {
  const { marks, ws } = await setup(t);
  const dir = await ws.prepare(fakeTask());
  await plant(dir, marks);
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  // Plain git as a careless host would run it: the agent's config, the host's whole environment.
  const plain = (args: string[]) => spawnSync('git', args, { cwd: dir, env: process.env, stdio: 'ignore' });
  plain(['add', '-A']);
  plain(['update-ref', 'refs/heads/other', 'HEAD']);
  const ran = fs.readdirSync(marks).map((f) => f.split('.')[0]);
  for (const p of ['fsmonitor', 'filter-process', 'hook-reference-transaction']) assert.ok(ran.includes(p), `${p} ran under plain git (saw ${[...new Set(ran)].join(', ')})`);
  assert.ok(fs.readdirSync(marks).some((f) => fs.readFileSync(path.join(marks, f), 'utf8').includes(SECRET)), 'and saw the host environment');
});

// Filter drivers are the one mechanism agentGit cannot switch off by name (an
// agent names its own drivers): the workspace never runs a content command with the
// agent's config, which the next test proves.
test('agentGit runs no hook, fsmonitor, helper, ssh, rewrite or pager an agent planted, even in its own repository', async (t) => {
  const { marks, ws } = await setup(t);
  const dir = await ws.prepare(fakeTask());
  await plant(dir, marks, { filters: false });
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  const id = { GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' };
  await agentGit(['add', '-A'], { cwd: dir });
  await agentGit(['commit', '-qm', 'x'], { cwd: dir, env: id });
  await agentGit(['checkout', '-q', '-b', 'other'], { cwd: dir });
  await agentGit(['status', '--porcelain'], { cwd: dir });
  await agentGit(['log', '-p', '-1'], { cwd: dir });
  await agentGit(['gc', '--auto', '--quiet'], { cwd: dir });
  const fetch = await agentGit(['fetch', '--quiet', '/nowhere/origin.git', 'main'], { cwd: dir, allowFailure: true });
  assert.notEqual(fetch.exitCode, 0);
  assert.match(fetch.stderr, /transport 'ext' not allowed|not allowed/, 'the url rewrite to ext:: is refused, not run');
  const ssh = await agentGit(['fetch', '--quiet', 'ssh://git@127.0.0.1:1/x.git', 'main'], { cwd: dir, allowFailure: true });
  assert.notEqual(ssh.exitCode, 0);
  assert.deepEqual(fs.readdirSync(marks), [], 'no planted program ran');
});

test('prepare and commitAndPush run no program an agent planted and carry its work, not its config', async (t) => {
  const { repo, marks, ws } = await setup(t);
  const task = fakeTask();
  const dir = await ws.prepare(task);
  fs.writeFileSync(path.join(dir, 'work.txt'), 'the agent\'s work\n');
  await plant(dir, marks);
  // core.worktree pointing elsewhere would have Conveyor commit another directory.
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-elsewhere-'));
  t.after(() => fs.rmSync(elsewhere, { recursive: true, force: true }));
  fs.writeFileSync(path.join(elsewhere, 'token'), SECRET);
  fs.appendFileSync(path.join(dir, '.git', 'config'), `[core]\n\tworktree = ${elsewhere}\n`);
  const out = await ws.commitAndPush(task, 'developer: ET-001');
  assert.equal(out.committed, true);
  assert.equal(await repo.show(task.branch, 'work.txt'), 'the agent\'s work', 'content committed as is: no clean filter ran');
  assert.equal(await repo.show(task.branch, 'token'), null, 'only the worktree is committed');
  // The next stage: the agent's planted .git is gone, smudge filters do not run on checkout.
  const again = await ws.prepare(task);
  assert.equal(fs.readFileSync(path.join(again, 'work.txt'), 'utf8'), 'the agent\'s work\n');
  assert.doesNotMatch(fs.readFileSync(path.join(again, '.git', 'config'), 'utf8'), /evil|hooksPath|worktree/);
  assert.equal(fs.existsSync(path.join(again, '.git', 'evil')), false);
  await ws.commitAndPush(task, 'again');
  assert.deepEqual(fs.readdirSync(marks), [], 'no planted program ran under Conveyor\'s git');
});

test('the agent\'s repository has no remote and no URL of the origin; a .git pointing at the mirror is not followed', async (t) => {
  const { repo, marks, ws } = await setup(t);
  const task = fakeTask();
  const dir = await ws.prepare(task);
  assert.equal((await git(['remote'], { cwd: dir })).stdout, '');
  const files = fs.readdirSync(path.join(dir, '.git'), { recursive: true }).map(String);
  for (const f of files) {
    const p = path.join(dir, '.git', f);
    if (fs.statSync(p).isFile()) assert.ok(!fs.readFileSync(p, 'utf8').includes(repo.origin), `${f} does not name the origin`);
  }
  assert.equal((await git(['rev-parse', 'origin/main'], { cwd: dir })).stdout, await repo.head('main'), 'origin/main is there to diff against');
  // The agent swaps its .git for a link to the mirror, hoping Conveyor commits into it.
  fs.rmSync(path.join(dir, '.git'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.git'), `gitdir: ${ws.mirrorDir(task.repo)}\n`);
  await assert.rejects(ws.commitAndPush(task, 'x'), /no agent repository/);
  await ws.prepare(task);
  assert.ok(fs.lstatSync(path.join(dir, '.git')).isDirectory());
  assert.deepEqual(fs.readdirSync(marks), []);
});
