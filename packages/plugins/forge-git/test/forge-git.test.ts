import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { armFaultPoint, git } from '@conveyor/core';
import { commitAll, createBareRepo, createTestConveyor, eventually, testDatabases, type BareRepo, type TestConveyor } from '@conveyor/core/testing';
import { CI_CONTEXT, ForgeGitTokens, forgeGitPlugin, HeadMovedError, MergeConflictError, removeLeftoverClones, type LocalGitForge } from '../src/index.js';

/** Pushes a branch with `files` on top of main, from a scratch clone. */
async function pushBranch(repo: BareRepo, branch: string, files: Record<string, string>, from = 'main'): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-git-push-'));
  try {
    await git(['clone', '--quiet', '--branch', from, repo.origin, dir], { cwd: os.tmpdir() });
    await git(['checkout', '--quiet', '-B', branch], { cwd: dir });
    for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), c);
    await commitAll(dir, `change ${Object.keys(files).join(', ')}`);
    await git(['push', '--quiet', 'origin', `${branch}:${branch}`], { cwd: dir });
    return (await git(['rev-parse', 'HEAD'], { cwd: dir })).stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  async function setup(t: { after: (fn: () => Promise<void> | void) => void }, repoConfig: Record<string, unknown> = {}) {
    const repo = await createBareRepo({ 'README.md': '# app\n', 'a.txt': 'base\n' });
    const kit = await createTestConveyor({ dialect, plugins: [forgeGitPlugin], config: { repos: { 'acme/app': { url: repo.origin, protectedBranches: ['release'], ...repoConfig } } } });
    t.after(async () => {
      await kit.cleanup();
      repo.dispose();
    });
    return { repo, kit, forge: kit.conveyor.container.resolve<LocalGitForge>(ForgeGitTokens.Forge) };
  }

  test(`${t0} a PR per head branch: opened once, reused (like Gitea's 409), head kept current`, async (t) => {
    const { repo, forge } = await setup(t);
    const sha1 = await pushBranch(repo, 'et-001-x', { 'b.txt': 'one\n' });
    const pr = await forge.ensurePullRequest({ repo: 'acme/app', head: 'et-001-x', base: 'main', title: 'ET-001: x', body: '' });
    assert.deepEqual([pr.number, pr.state, pr.merged, pr.headSha], [1, 'open', false, sha1]);
    const sha2 = await pushBranch(repo, 'et-001-x', { 'c.txt': 'two\n' }, 'et-001-x');
    const again = await forge.ensurePullRequest({ repo: 'acme/app', head: 'et-001-x', base: 'main', title: 'ET-001: x', body: '' });
    assert.deepEqual([again.number, again.headSha], [1, sha2]);
    await pushBranch(repo, 'et-002-y', { 'd.txt': 'y\n' });
    assert.equal((await forge.ensurePullRequest({ repo: 'acme/app', head: 'et-002-y', base: 'main', title: 'y', body: '' })).number, 2);
    await assert.rejects(forge.ensurePullRequest({ repo: 'acme/app', head: 'nope', base: 'main', title: 'n', body: '' }), /branch "nope" is not on the origin/);
  });

  test(`${t0} merge is a real non-forced merge into main; merging again is a no-op`, async (t) => {
    const { repo, forge } = await setup(t);
    const head = await pushBranch(repo, 'et-001-x', { 'b.txt': 'feature\n' });
    const before = (await repo.head('main'))!;
    const pr = await forge.ensurePullRequest({ repo: 'acme/app', head: 'et-001-x', base: 'main', title: 'ET-001: x', body: '' });
    const merged = await forge.mergePullRequest('acme/app', pr.number);
    assert.equal(merged.merged, true);
    const after = (await repo.head('main'))!;
    assert.notEqual(after, before);
    assert.equal(await repo.show('main', 'b.txt'), 'feature');
    const parents = (await git(['rev-list', '--parents', '-n', '1', after], { cwd: repo.origin })).stdout.split(' ').slice(1);
    assert.deepEqual(parents, [before, head], 'a merge commit of main and the branch');
    assert.equal((await forge.mergePullRequest('acme/app', pr.number)).merged, true);
    assert.equal(await repo.head('main'), after, 'the second merge changed nothing');
  });

  test(`${t0} a merge that loses the race for main (another host merged first) is made again on the new main, not refused`, async (t) => {
    const { repo, forge } = await setup(t);
    const head = await pushBranch(repo, 'et-001-x', { 'b.txt': 'feature\n' });
    const other = await pushBranch(repo, 'et-002-y', { 'z.txt': 'other host\n' });
    const pr = await forge.ensurePullRequest({ repo: 'acme/app', head: 'et-001-x', base: 'main', title: 'x', body: '' });
    // Between computing the merge and moving main, main moves (another host's merge).
    let raced = 0;
    const disarm = armFaultPoint('forge-git.merge-before-ref', {
      at: 1,
      action: () => {
        raced++;
        assert.equal(spawnSync('git', ['update-ref', 'refs/heads/main', other], { cwd: repo.origin }).status, 0);
      },
    });
    t.after(disarm);
    const merged = await forge.mergePullRequest('acme/app', pr.number);
    assert.equal(raced, 1, 'the race happened');
    assert.equal(merged.merged, true);
    const main = (await repo.head('main'))!;
    const parents = (await git(['rev-list', '--parents', '-n', '1', main], { cwd: repo.origin })).stdout.split(' ').slice(1);
    assert.deepEqual(parents, [other, head], 'merged onto the main the other host made, which is kept');
    assert.equal(await repo.show('main', 'z.txt'), 'other host');
    assert.equal(await repo.show('main', 'b.txt'), 'feature');
  });

  test(`${t0} a conflicting merge is refused and main does not move`, async (t) => {
    const { repo, forge } = await setup(t);
    await pushBranch(repo, 'et-001-x', { 'a.txt': 'mine\n' });
    await pushBranch(repo, 'et-002-y', { 'a.txt': 'theirs\n' });
    const p1 = await forge.ensurePullRequest({ repo: 'acme/app', head: 'et-001-x', base: 'main', title: 'x', body: '' });
    const p2 = await forge.ensurePullRequest({ repo: 'acme/app', head: 'et-002-y', base: 'main', title: 'y', body: '' });
    await forge.mergePullRequest('acme/app', p1.number);
    const main = await repo.head('main');
    await assert.rejects(forge.mergePullRequest('acme/app', p2.number), (err: Error) => err instanceof MergeConflictError && /does not merge cleanly/.test(err.message));
    assert.equal(await repo.head('main'), main);
    assert.equal((await forge.getPullRequest('acme/app', p2.number))!.state, 'open');
  });

  test(`${t0} a merge pinned to a head refuses once the branch moved, and main does not move`, async (t) => {
    const { repo, forge } = await setup(t);
    const checked = await pushBranch(repo, 'et-001-x', { 'b.txt': 'reviewed\n' });
    const pr = await forge.ensurePullRequest({ repo: 'acme/app', head: 'et-001-x', base: 'main', title: 'x', body: '' });
    const moved = await pushBranch(repo, 'et-001-x', { 'c.txt': 'unreviewed\n' }, 'et-001-x');
    const main = await repo.head('main');
    await assert.rejects(forge.mergePullRequest('acme/app', pr.number, { headSha: checked }), (err: Error) => err instanceof HeadMovedError && /head out of date/.test(err.message));
    assert.equal(await repo.head('main'), main);
    assert.equal((await forge.getPullRequest('acme/app', pr.number))!.merged, false);
    assert.equal((await forge.mergePullRequest('acme/app', pr.number, { headSha: moved })).merged, true);
    assert.equal(await repo.show('main', 'c.txt'), 'unreviewed');
  });

  test(`${t0} deleting main or a protected branch is refused before git runs`, async (t) => {
    const { repo, forge } = await setup(t);
    await pushBranch(repo, 'release', { 'r.txt': 'r\n' });
    await assert.rejects(forge.deleteBranch('acme/app', 'main'), /refusing/);
    await assert.rejects(forge.deleteBranch('acme/app', 'release'), /refusing/);
    assert.ok(await repo.head('release'));
    await pushBranch(repo, 'et-001-x', { 'b.txt': 'b\n' });
    await forge.deleteBranch('acme/app', 'et-001-x');
    assert.equal(await repo.head('et-001-x'), null);
  });

  test(`${t0} CI runs the repo's test command on each PR head and reports the status through intake`, async (t) => {
    const { repo, kit, forge } = await setup(t, { testCommand: 'test -f ok.txt' });
    await kit.conveyor.start();
    const red = await pushBranch(repo, 'et-001-x', { 'b.txt': 'no ok file\n' });
    await forge.ensurePullRequest({ repo: 'acme/app', head: 'et-001-x', base: 'main', title: 'x', body: '' });
    const st = kit.conveyor.store.ciStatuses;
    await eventually(async () => (await st.forSha('acme/app', red)).find((s) => s.state === 'failure'), 15_000, 'a red status');
    const green = await pushBranch(repo, 'et-001-x', { 'ok.txt': 'ok\n' }, 'et-001-x');
    await forge.ensurePullRequest({ repo: 'acme/app', head: 'et-001-x', base: 'main', title: 'x', body: '' });
    const status = (await eventually(async () => (await st.forSha('acme/app', green)).find((s) => s.state === 'success'), 15_000, 'a green status'))!;
    assert.equal(status.context, CI_CONTEXT);
    assert.equal(status.branch, 'et-001-x');
    assert.deepEqual((await forge.combinedStatus('acme/app', 'et-001-x')).state, 'success');
    assert.ok(fs.existsSync(new URL(status.targetUrl!)), 'the status links to the CI log');
  });

  test(`${t0} initMissing creates the origin with the starter files`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-git-init-'));
    const origin = path.join(dir, 'demo.git');
    const kit = await createTestConveyor({
      dialect,
      plugins: [forgeGitPlugin],
      config: { repos: { demo: { url: origin } }, plugins: { 'forge-git': { initMissing: true, starterFiles: { 'package.json': '{"type":"module"}\n' } } } },
    });
    t.after(async () => {
      await kit.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await kit.conveyor.start();
    assert.equal((await git(['show', 'main:package.json'], { cwd: origin })).stdout, '{"type":"module"}');
  });
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} a kill while the origin is first made leaves nothing half-made; a HEAD-only origin is made again`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-git-init-'));
    const origin = path.join(dir, 'demo.git');
    const config = { repos: { demo: { url: origin } }, plugins: { 'forge-git': { initMissing: true, starterFiles: { 'README.md': '# demo\n' } } } };
    const kits: TestConveyor[] = [];
    t.after(async () => {
      for (const k of kits) await k.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const first = await createTestConveyor({ dialect, plugins: [forgeGitPlugin], config });
    kits.push(first);
    const disarm = armFaultPoint('forge-git.origin-init', { action: () => { throw new Error('simulated kill'); } });
    await assert.rejects(first.conveyor.start(), /simulated kill/);
    disarm();
    assert.deepEqual(fs.readdirSync(dir), [], 'neither the origin nor its temporary build is left');
    // What a kill during `git init --bare` of an older version left behind.
    fs.mkdirSync(origin);
    fs.writeFileSync(path.join(origin, 'HEAD'), 'ref: refs/heads/main\n');
    const second = await createTestConveyor({ dialect, plugins: [forgeGitPlugin], config });
    kits.push(second);
    await second.conveyor.start();
    assert.equal((await git(['show', 'main:README.md'], { cwd: origin })).stdout, '# demo');
  });

  test(`${t0} CI clones left by a process that died are removed at start; those of live processes stay`, () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-git-tmp-'));
    try {
      const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
      for (const name of [`conveyor-ci-${dead}-aaaa`, `conveyor-ci-${dead}-bbbb`, `conveyor-ci-${process.pid}-cccc`, 'conveyor-ci-other', 'unrelated']) {
        fs.mkdirSync(path.join(tmp, name));
        fs.writeFileSync(path.join(tmp, name, 'file'), 'x');
      }
      assert.equal(removeLeftoverClones(tmp), 2);
      assert.deepEqual(fs.readdirSync(tmp).sort(), [`conveyor-ci-${process.pid}-cccc`, 'conveyor-ci-other', 'unrelated']);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}
