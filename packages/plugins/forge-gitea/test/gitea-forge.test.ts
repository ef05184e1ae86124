import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreTokens, type ForgePort } from '@conveyor/core';
import { ForgeGiteaTokens, RepoMap, type GiteaForge } from '../src/index.js';
import { fakeSha } from '../src/testing/index.js';
import { giteaConveyor, startFake } from './helpers.js';

test('repo map: explicit entries win, otherwise owner/name; the reverse is case-insensitive and only for configured repos', () => {
  const map = new RepoMap({ demo: { owner: 'acme', name: 'demo-app' } }, ['acme/app', 'demo', 'acme/demo-app']);
  assert.deepEqual(map.toGitea('demo'), { owner: 'acme', name: 'demo-app' });
  assert.deepEqual(map.toGitea('acme/app'), { owner: 'acme', name: 'app' });
  assert.throws(() => map.toGitea('solo'), /repo "solo" has no Gitea repository: add plugins\.forge-gitea\.repositories\.solo/);
  assert.throws(() => map.toGitea('a/b/c'), /has no Gitea repository/);
  assert.equal(map.fromGitea('ACME/Demo-App'), 'demo', 'the explicit mapping, not the repo that happens to share the name');
  assert.equal(map.fromGitea('acme/APP'), 'acme/app');
  assert.equal(map.fromGitea('acme/other'), null);
});

test('the plugin binds the Gitea forge; PRs, merge, combined status by branch and links go through Gitea', async (t) => {
  const fake = await startFake(t);
  fake.addRepo('acme/demo-app');
  const kit = await giteaConveyor(t, fake, {
    repos: { demo: { protectedBranches: ['release'] } },
    plugin: { repositories: { demo: { owner: 'acme', name: 'demo-app' } }, publicUrl: 'https://git.example.com/', mergeStyle: 'rebase' },
  });
  const forge = kit.conveyor.container.resolve<ForgePort>(CoreTokens.Forge);
  assert.equal(forge, kit.conveyor.container.resolve<GiteaForge>(ForgeGiteaTokens.Forge));
  assert.equal(forge.name, 'forge-gitea');

  const sha = fakeSha('feature');
  fake.push('acme/demo-app', 'et-001-fix', sha);
  assert.equal(await forge.branchHeadSha('demo', 'et-001-fix'), sha);
  const pr = await forge.ensurePullRequest({ repo: 'demo', head: 'et-001-fix', base: 'main', title: 'ET-001: fix', body: '' });
  assert.deepEqual(pr, { repo: 'demo', number: 1, head: 'et-001-fix', base: 'main', url: `${fake.url}/acme/demo-app/pulls/1`, state: 'open', merged: false, headSha: sha, mergeSha: null });
  assert.deepEqual(await forge.ensurePullRequest({ repo: 'demo', head: 'et-001-fix', base: 'main', title: 'again', body: '' }), pr);

  assert.deepEqual(await forge.combinedStatus('demo', 'et-001-fix'), { state: '', sha, contexts: [] });
  fake.setStatus('acme/demo-app', sha, 'failure', 'CI / test', { targetUrl: 'https://ci/9' });
  assert.deepEqual(await forge.combinedStatus('demo', 'et-001-fix'), { state: 'failure', sha, contexts: [{ context: 'CI / test', state: 'failure', targetUrl: 'https://ci/9' }] });
  assert.deepEqual(await forge.combinedStatus('demo', 'no-such-branch'), { state: '', sha: 'no-such-branch', contexts: [] });

  const merged = await forge.mergePullRequest('demo', 1);
  assert.deepEqual([merged.merged, merged.state, merged.mergeSha], [true, 'closed', fakeSha('acme/demo-app#1:merge')]);
  assert.equal((fake.callsTo('POST', '/api/v1/repos/acme/demo-app/pulls/1/merge')[0]!.body as { Do: string }).Do, 'rebase');
  assert.equal((await forge.mergePullRequest('demo', 1)).merged, true, 'merging a merged PR again is success');
  assert.equal((await forge.getPullRequest('demo', 1))?.merged, true);
  assert.equal(await forge.getPullRequest('demo', 2), null);

  assert.equal(forge.publicUrl('demo', 'docs/pipeline/ET-001/01-analysis.md', 'et-001-fix'), 'https://git.example.com/acme/demo-app/src/branch/et-001-fix/docs/pipeline/ET-001/01-analysis.md');
  assert.equal(forge.publicUrl('demo', 'a b#.md', 'agent/x y'), 'https://git.example.com/acme/demo-app/src/branch/agent/x%20y/a%20b%23.md');
  assert.equal(forge.publicUrl('demo', 'pulls/1', ''), 'https://git.example.com/acme/demo-app/pulls/1');
});

test('deleteBranch refuses the repo\'s main and protected branches (from repos.<repo>) without calling Gitea', async (t) => {
  const fake = await startFake(t);
  fake.addRepo('acme/orchestrator', { defaultBranch: 'trunk' });
  fake.push('acme/orchestrator', 'release', fakeSha('r'));
  fake.push('acme/orchestrator', 'et-002-y', fakeSha('y'));
  const kit = await giteaConveyor(t, fake, { repos: { 'acme/orchestrator': { mainBranch: 'trunk', protectedBranches: ['release'] } } });
  const forge = kit.conveyor.container.resolve<ForgePort>(CoreTokens.Forge);
  await assert.rejects(forge.deleteBranch('acme/orchestrator', 'trunk'), /refusing to push to or delete "trunk"/);
  await assert.rejects(forge.deleteBranch('acme/orchestrator', 'release'), /refusing to push to or delete "release"/);
  assert.equal(fake.callsTo('DELETE').length, 0);
  await forge.deleteBranch('acme/orchestrator', 'et-002-y');
  assert.equal(fake.repo('acme/orchestrator').branches.has('et-002-y'), false);
});

test('enabled without baseUrl or token: registering fails and names the key', async (t) => {
  const fake = await startFake(t);
  await assert.rejects(giteaConveyor(t, fake, { plugin: { baseUrl: undefined } }), /plugins\.forge-gitea\.baseUrl is not set/);
});

test('start checks the token: a wrong one fails the start with the key to fix', async (t) => {
  const fake = await startFake(t, { token: 'the-real-token' });
  const kit = await giteaConveyor(t, fake);
  await kit.conveyor.start();
  assert.ok(kit.logger.lines.some((l) => l.msg === 'connected to Gitea' && l.obj.user === 'conveyor'));

  const other = await startFake(t, { token: 'the-real-token' });
  const bad = await giteaConveyor(t, other, { token: 'a-wrong-token' });
  await assert.rejects(bad.conveyor.start(), /401: "invalid username, password or token".*plugins\.forge-gitea\.token/s);
});
