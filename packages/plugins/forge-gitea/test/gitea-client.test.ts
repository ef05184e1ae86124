import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GiteaApiError, GiteaClient } from '../src/index.js';
import { fakeSha, type FakeGitea } from '../src/testing/index.js';
import { startFake } from './helpers.js';

const R = { owner: 'acme', name: 'app' };
const API = '/api/v1/repos/acme/app';
const PROTECTION = { mainBranch: 'main', protectedBranches: ['release'] };

async function setup(t: { after(fn: () => unknown): void }) {
  const fake = await startFake(t);
  fake.addRepo('acme/app', { protectedBranches: ['gitea-only'] });
  fake.push('acme/app', 'agent/et-001-x', fakeSha('x1'));
  const client = new GiteaClient({ baseUrl: `${fake.url}/`, token: fake.token });
  return { fake, client };
}

const is = (code: string, text: RegExp) => (err: unknown) => err instanceof GiteaApiError && err.code === code && text.test(err.message);

test('create PR: 201 with the token header; a second create answers 409 and the open PR is reused', async (t) => {
  const { fake, client } = await setup(t);
  const first = await client.createPullRequest(R, { head: 'agent/et-001-x', base: 'main', title: 'ET-001: x', body: 'b' });
  assert.equal(first.created, true);
  assert.deepEqual([first.pullRequest.number, first.pullRequest.state, first.pullRequest.merged, first.pullRequest.head.sha], [1, 'open', false, fakeSha('x1')]);
  assert.equal(first.pullRequest.html_url, `${fake.url}/acme/app/pulls/1`);
  assert.equal(fake.calls[0]!.headers.authorization, `token ${fake.token}`);
  assert.deepEqual(fake.calls[0]!.body, { head: 'agent/et-001-x', base: 'main', title: 'ET-001: x', body: 'b' });

  const again = await client.createPullRequest(R, { head: 'agent/et-001-x', base: 'main', title: 'ET-001: x', body: 'b' });
  assert.deepEqual([again.created, again.pullRequest.number], [false, 1]);
  assert.deepEqual(fake.callsTo('POST', `${API}/pulls`).map((c) => c.status), [201, 409]);
  assert.equal(fake.callsTo('GET', `${API}/pulls`).length, 1, 'the open PR was looked up once');
});

test('409 reuse pages through the open PRs until the head is found', async (t) => {
  const fake = await startFake(t, { maxResponseItems: 2 });
  fake.addRepo('acme/app');
  for (let i = 1; i <= 5; i++) fake.push('acme/app', `b${i}`, fakeSha(`b${i}`));
  const client = new GiteaClient({ baseUrl: fake.url, token: fake.token });
  for (let i = 1; i <= 5; i++) await client.createPullRequest(R, { head: `b${i}`, base: 'main', title: `b${i}`, body: '' });
  const again = await client.createPullRequest(R, { head: 'b1', base: 'main', title: 'b1', body: '' });
  assert.deepEqual([again.created, again.pullRequest.number], [false, 1]);
  assert.equal(fake.callsTo('GET', `${API}/pulls`).length, 3, 'newest first, two per page: b1 is on page 3');
});

test('create PR with head = base (422) or an unknown head (404): clear errors', async (t) => {
  const { client } = await setup(t);
  await assert.rejects(client.createPullRequest(R, { head: 'main', base: 'main', title: 't', body: '' }), is('FORGE_GITEA_INVALID_REQUEST', /refused to open a pull request of "main" into "main" in acme\/app \(422: "Invalid PullRequest/));
  await assert.rejects(client.createPullRequest(R, { head: 'never-pushed', base: 'main', title: 't', body: '' }), is('FORGE_GITEA_NOT_FOUND', /one of the branches is not there; push the branch first/));
});

test('merge: capitalised Do/MergeTitleField/MergeMessageField; merging again (405) is success; the PR is read back', async (t) => {
  const { fake, client } = await setup(t);
  await client.createPullRequest(R, { head: 'agent/et-001-x', base: 'main', title: 'x', body: '' });
  const merged = await client.mergePullRequest(R, 1, { style: 'squash' });
  assert.deepEqual([merged.merged, merged.state, merged.merge_commit_sha], [true, 'closed', fakeSha('acme/app#1:merge')]);
  assert.deepEqual(fake.callsTo('POST', `${API}/pulls/1/merge`)[0]!.body, { Do: 'squash', MergeTitleField: '', MergeMessageField: '' });
  assert.equal(fake.repo('acme/app').branches.get('main'), fakeSha('acme/app#1:merge'));
  const again = await client.mergePullRequest(R, 1, { style: 'merge' });
  assert.equal(again.merged, true);
  assert.deepEqual(fake.callsTo('POST', `${API}/pulls/1/merge`).map((c) => c.status), [200, 405]);
});

test('merge pinned to a head sends head_commit_id; once the branch moved Gitea answers 409 and nothing merges', async (t) => {
  const { fake, client } = await setup(t);
  await client.createPullRequest(R, { head: 'agent/et-001-x', base: 'main', title: 'x', body: '' });
  fake.push('acme/app', 'agent/et-001-x', fakeSha('x2'));
  await assert.rejects(client.mergePullRequest(R, 1, { style: 'merge', headCommitId: fakeSha('x1') }), is('FORGE_GITEA_MERGE_CONFLICT', /409: "head out of date"/));
  assert.equal((fake.callsTo('POST', `${API}/pulls/1/merge`)[0]!.body as { head_commit_id?: string }).head_commit_id, fakeSha('x1'));
  assert.equal(fake.pull('acme/app', 1).merged, false);
  assert.equal((await client.mergePullRequest(R, 1, { style: 'merge', headCommitId: fakeSha('x2') })).merged, true);
});

test('merge refused (405) on a PR that is not merged: error with Gitea\'s message; 409 conflict: clear error; closed: refused', async (t) => {
  const { fake, client } = await setup(t);
  fake.push('acme/app', 'b2', fakeSha('b2'));
  fake.push('acme/app', 'b3', fakeSha('b3'));
  for (const head of ['agent/et-001-x', 'b2', 'b3']) await client.createPullRequest(R, { head, base: 'main', title: head, body: '' });
  fake.pull('acme/app', 1).blocked = 'Please try again later';
  await assert.rejects(client.mergePullRequest(R, 1, { style: 'merge' }), (err: unknown) => is('FORGE_GITEA_MERGE_REFUSED', /refused to merge acme\/app#1 \(405: "Please try again later"\); it is open/)(err) && (err as GiteaApiError).giteaMessage === 'Please try again later' && (err as GiteaApiError).status === 405);
  fake.pull('acme/app', 2).conflict = true;
  await assert.rejects(client.mergePullRequest(R, 2, { style: 'merge' }), is('FORGE_GITEA_MERGE_CONFLICT', /could not merge acme\/app#2 \(409: "CONFLICT \(content\): Merge conflict in README.md"\)/));
  fake.closePull('acme/app', 3);
  await assert.rejects(client.mergePullRequest(R, 3, { style: 'merge' }), is('FORGE_GITEA_MERGE_REFUSED', /\(404: "The target couldn't be found."\); it is closed/));
  await assert.rejects(client.mergePullRequest(R, 99, { style: 'merge' }), is('FORGE_GITEA_NOT_FOUND', /no pull request acme\/app#99/));
  assert.equal(await client.getPullRequest(R, 99), null);
});

test('combined status: none → state "" and no entries (Gitea sends statuses: null); entries read from the `status` key', async (t) => {
  const { fake, client } = await setup(t);
  const sha = fakeSha('x1');
  assert.deepEqual(await client.combinedStatus(R, sha), { state: '', sha, statuses: [] });
  fake.setStatus('acme/app', sha, 'pending', 'CI / test', { targetUrl: 'https://ci/1' });
  fake.setStatus('acme/app', sha, 'success', 'CI / lint', { targetUrl: '' });
  const cs = await client.combinedStatus(R, sha);
  assert.equal(cs.state, 'pending');
  assert.deepEqual(cs.statuses.map((s) => [s.context, s.status, s.targetUrl]), [['CI / test', 'pending', 'https://ci/1'], ['CI / lint', 'success', null]]);
  fake.setStatus('acme/app', sha, 'success', 'CI / test');
  assert.equal((await client.combinedStatus(R, sha)).state, 'success');
});

test('delete branch: main and protected branches are refused before any call; 403 and 404 from Gitea', async (t) => {
  const { fake, client } = await setup(t);
  fake.push('acme/app', 'release', fakeSha('r'));
  fake.push('acme/app', 'gitea-only', fakeSha('g'));
  for (const b of ['main', 'release', 'refs/heads/main', '']) {
    await assert.rejects(client.deleteBranch(R, b, PROTECTION), /refusing/);
  }
  assert.equal(fake.callsTo('DELETE').length, 0, 'the server never saw a delete');
  assert.ok(fake.repo('acme/app').branches.has('release'));
  await assert.rejects(client.deleteBranch(R, 'gitea-only', PROTECTION), is('FORGE_GITEA_FORBIDDEN', /\(403: "branch protected"\).*repos\.<repo>\.protectedBranches/));
  await client.deleteBranch(R, 'agent/et-001-x', PROTECTION);
  assert.equal(fake.repo('acme/app').branches.has('agent/et-001-x'), false);
  await client.deleteBranch(R, 'agent/et-001-x', PROTECTION);
  assert.deepEqual(fake.callsTo('DELETE').map((c) => [c.path, c.status]), [
    [`${API}/branches/gitea-only`, 403],
    [`${API}/branches/agent/et-001-x`, 204],
    [`${API}/branches/agent/et-001-x`, 404],
  ]);
});

test('branch head: the commit id, null for a missing branch (slashes in names kept as path)', async (t) => {
  const { client } = await setup(t);
  assert.equal(await client.branchHeadSha(R, 'agent/et-001-x'), fakeSha('x1'));
  assert.equal(await client.branchHeadSha(R, 'nope/nope'), null);
  await assert.rejects(client.branchHeadSha({ owner: 'acme', name: 'missing' }, 'main'), is('FORGE_GITEA_NOT_FOUND', /Gitea has no repository acme\/missing, or the token's user cannot see it/));
});

test('a wrong token: 401 with Gitea\'s message and the config key to fix', async (t) => {
  const { fake } = await setup(t);
  const client = new GiteaClient({ baseUrl: fake.url, token: 'wrong' });
  await assert.rejects(client.currentUser(), (err: unknown) => is('FORGE_GITEA_UNAUTHORIZED', /401: "invalid username, password or token".*plugins\.forge-gitea\.token/)(err) && (err as GiteaApiError).status === 401);
  assert.deepEqual(await new GiteaClient({ baseUrl: fake.url, token: fake.token }).currentUser(), { login: 'conveyor' });
});

test('no answer: a timeout or a refused connection is FORGE_GITEA_UNREACHABLE naming the setting', async (t) => {
  // A server that never answers. The ref'd timer stands for its open socket:
  // AbortSignal.timeout alone does not keep node's event loop alive.
  const hang: typeof fetch = (_url, init) =>
    new Promise((_resolve, reject) => {
      const socket = setTimeout(() => reject(new Error('the timeout never fired')), 5_000);
      init?.signal?.addEventListener('abort', () => {
        clearTimeout(socket);
        reject(init.signal!.reason);
      });
    });
  const slow = new GiteaClient({ baseUrl: 'http://gitea.invalid', token: 't', fetch: hang, timeoutMs: 20 });
  await assert.rejects(slow.getPullRequest(R, 1), is('FORGE_GITEA_UNREACHABLE', /no answer within 20 ms \(plugins\.forge-gitea\.requestTimeoutMs\)/));
  const fake: FakeGitea = await startFake(t);
  const url = fake.url;
  await fake.close();
  await assert.rejects(new GiteaClient({ baseUrl: url, token: 't' }).getPullRequest(R, 1), is('FORGE_GITEA_UNREACHABLE', /check plugins\.forge-gitea\.baseUrl/));
});

test('combined status over more contexts than a page: every page is read and the state is combined here, not trusted from page 1', async (t) => {
  const { fake, client } = await setup(t);
  const sha = fake.push('acme/app', 'et-002-matrix', 'c'.repeat(40)).after;
  for (let i = 0; i < 60; i++) fake.setStatus('acme/app', sha, i === 55 ? 'failure' : 'success', `ci/matrix-${i}`);
  const cs = await client.combinedStatus(R, sha);
  assert.equal(cs.statuses.length, 60);
  assert.equal(cs.state, 'failure', 'the failure on page 2 decides');
});
