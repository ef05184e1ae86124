import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreTokens, type ForgePort } from '@conveyor/core';
import { GiteaClient, giteaSignature, WEBHOOK_BODY_LIMIT } from '../src/index.js';
import { fakeSha, type FakeGitea } from '../src/testing/index.js';
import { fixture, FIXTURE_SECRET, FIXTURES, giteaConveyor, giteaHeaders, routeRequest, startFake, type GiteaKit } from './helpers.js';

type After = { after(fn: () => unknown): void };

/** A kit whose fake Gitea delivers its webhooks straight into the route handler. */
async function setup(t: After, options: Parameters<typeof giteaConveyor>[2] = {}): Promise<{ fake: FakeGitea; kit: GiteaKit }> {
  const fake = await startFake(t);
  fake.addRepo('acme/orchestrator');
  const kit = await giteaConveyor(t, fake, options);
  fake.webhooks.target = {
    secret: FIXTURE_SECRET,
    deliver: async ({ headers, body }) => {
      const res = await kit.route.handler(routeRequest(headers, body));
      return { status: res.status, body: JSON.stringify(res.body) };
    },
  };
  return { fake, kit };
}

const post = (kit: GiteaKit, headers: Record<string, string>, body: Buffer) => kit.route.handler(routeRequest(headers, body));

test('the route: POST /webhooks/gitea, webhook auth, raw body, an explicit body limit', async (t) => {
  const { kit } = await setup(t);
  assert.deepEqual([kit.route.auth, kit.route.rawBody, kit.route.bodyLimit, kit.route.plugin], ['webhook', true, WEBHOOK_BODY_LIMIT, 'forge-gitea']);
});

test('every webhook fixture is accepted with its SIGNATURES.md signature and recorded once', async (t) => {
  const { kit } = await setup(t);
  for (const f of FIXTURES) {
    const res = await post(kit, giteaHeaders(f.event, f.signature), fixture(f.file));
    assert.deepEqual(res, { status: 202, body: { accepted: true, duplicate: false } }, f.file);
  }
  const rows = await kit.inbox();
  assert.deepEqual(rows.map((r) => r.source), ['gitea', 'gitea', 'gitea', 'gitea']);
  assert.deepEqual(JSON.parse(rows[0]!.payload).event.kind, 'status');
  await kit.conveyor.webhooks.idle();
  const statuses = await kit.conveyor.store.ciStatuses.forSha('acme/orchestrator', '4b7e1d9c2a5f8e3b6d0c9a2f5e8b1d4c7a0f3e6b');
  // One row per context (which state wins between the two fixtures is core's rule); no task has that head.
  assert.deepEqual(statuses.map((s) => [s.context, s.branch]), [['CI / test (push)', null]]);
  assert.ok(kit.logger.lines.some((l) => l.msg?.startsWith('gitea push')));
});

test('a wrong or missing signature → 401 naming plugins.forge-gitea.webhookSecret; nothing is written', async (t) => {
  const { kit } = await setup(t);
  const raw = fixture('gitea-status-success.json');
  const sig = FIXTURES[0].signature;
  const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))));
  for (const [headers, body] of [
    [giteaHeaders('status', 'f'.repeat(64)), raw],
    [giteaHeaders('status', ''), raw],
    [giteaHeaders('status', sig), reserialised],
  ] as const) {
    const res = await post(kit, { ...headers }, body);
    assert.equal(res.status, 401);
    assert.match((res.body as { message: string }).message, /plugins\.forge-gitea\.webhookSecret/);
  }
  assert.deepEqual(await kit.inbox(), []);
});

test('no webhookSecret configured → every delivery is 401 with the key to set', async (t) => {
  const { kit } = await setup(t, { secret: null });
  const res = await post(kit, giteaHeaders('status', FIXTURES[0].signature), fixture('gitea-status-success.json'));
  assert.equal(res.status, 401);
  assert.match((res.body as { message: string }).message, /plugins\.forge-gitea\.webhookSecret is not set.*CONVEYOR_PLUGINS_FORGE_GITEA_WEBHOOK_SECRET/);
  assert.deepEqual(await kit.inbox(), []);
});

test('malformed (signed) bodies → 400 naming the problem; nothing is written', async (t) => {
  const { kit, fake } = await setup(t);
  const sign = (event: string, body: string) => post(kit, giteaHeaders(event, giteaSignature(FIXTURE_SECRET, body)), Buffer.from(body));
  const status = JSON.parse(fixture('gitea-status-success.json').toString('utf8'));
  for (const [event, body, message] of [
    ['status', '{"sha":', /not valid JSON/],
    ['status', '[]', /must be a JSON object/],
    ['status', JSON.stringify({ ...status, state: 'great' }), /"state" must be one of/],
    ['pull_request', JSON.stringify({ action: 'closed', number: 1, repository: { full_name: 'acme/orchestrator' } }), /"pull_request.merged" must be true or false/],
    ['push', JSON.stringify({ ref: 'refs/heads/x', repository: { full_name: 'acme/orchestrator' } }), /"after" must be a non-empty string/],
  ] as const) {
    const res = await sign(event, body);
    assert.equal(res.status, 400, body);
    assert.match((res.body as { message: string }).message, message);
  }
  const noEvent = await post(kit, { 'x-gitea-signature': FIXTURES[0].signature }, fixture('gitea-status-success.json'));
  assert.deepEqual([noEvent.status, (noEvent.body as { message: string }).message], [400, 'no X-Gitea-Event-Type or X-Gitea-Event header: is this a Gitea webhook?']);
  assert.deepEqual(await kit.inbox(), []);
  assert.equal(fake.calls.length, 0);
});

test('an unknown repository, an unused event, a close without merge → 202 ignored; nothing is written', async (t) => {
  const { kit, fake } = await setup(t);
  fake.addRepo('acme/elsewhere');
  const d = await fake.sendStatus('acme/elsewhere', fakeSha('x'), 'success', 'ci');
  assert.equal(d.response!.status, 202);
  assert.match(JSON.parse(d.response!.body).ignored, /repository "acme\/elsewhere" is not configured/);

  const raw = fixture('gitea-status-success.json');
  const issue = await post(kit, giteaHeaders('issues', FIXTURES[0].signature), raw);
  assert.deepEqual(issue, { status: 202, body: { ignored: 'event "issues" is not used (Conveyor uses status, pull_request and push)' } });
  const sync = await post(kit, giteaHeaders('pull_request', FIXTURES[0].signature, { 'x-gitea-event-type': 'pull_request_sync' }), raw);
  assert.match((sync.body as { ignored: string }).ignored, /"pull_request_sync" is not used/);

  fake.push('acme/orchestrator', 'et-009', fakeSha('9'));
  await new GiteaClient({ baseUrl: fake.url, token: fake.token }).createPullRequest({ owner: 'acme', name: 'orchestrator' }, { head: 'et-009', base: 'main', title: 't', body: '' });
  const closed = await fake.closeAndNotify('acme/orchestrator', 1);
  assert.deepEqual(JSON.parse(closed.response!.body), { ignored: 'pull_request "closed" without a merge does not drive the pipeline' });
  assert.deepEqual(await kit.inbox(), []);
});

test('a repo outside plugins.forge-gitea.repos is ignored', async (t) => {
  const { kit } = await setup(t, { repos: { 'acme/orchestrator': {}, 'acme/other': {} }, plugin: { repos: ['acme/other'] } });
  const res = await post(kit, giteaHeaders('status', FIXTURES[0].signature), fixture('gitea-status-success.json'));
  assert.deepEqual(res, { status: 202, body: { ignored: 'repo "acme/orchestrator" is outside plugins.forge-gitea.repos' } });
  assert.deepEqual(await kit.inbox(), []);
});

test('Gitea 1.23.0: a status with an empty X-Gitea-Event is dispatched by X-Gitea-Event-Type', async (t) => {
  const { kit, fake } = await setup(t);
  const sha = fakeSha('head');
  fake.push('acme/orchestrator', 'et-001', sha);
  const d = await fake.sendStatus('acme/orchestrator', sha, 'pending', 'CI / test', { emptyEventHeader: true });
  assert.equal(d.headers['X-Gitea-Event'], '');
  assert.deepEqual(JSON.parse(d.response!.body), { accepted: true, duplicate: false });
  await kit.conveyor.webhooks.idle();
  assert.deepEqual((await kit.conveyor.store.ciStatuses.forSha('acme/orchestrator', sha)).map((s) => s.state), ['pending']);
});

test('a redelivery (new X-Gitea-Delivery, same bytes) is a duplicate; out-of-order statuses are each recorded', async (t) => {
  const { kit, fake } = await setup(t);
  const sha = fakeSha('head');
  fake.push('acme/orchestrator', 'et-001', sha);
  const pending = await fake.sendStatus('acme/orchestrator', sha, 'pending', 'CI / test');
  const success = await fake.sendStatus('acme/orchestrator', sha, 'success', 'CI / test');
  const replay = await fake.webhooks.redeliver(success);
  assert.deepEqual(JSON.parse(replay.response!.body), { accepted: true, duplicate: true });
  const late = await fake.webhooks.resend(pending);
  assert.deepEqual(JSON.parse(late.response!.body), { accepted: true, duplicate: true });
  assert.equal((await kit.inbox()).length, 2);
  await kit.conveyor.webhooks.idle();
  const snapshot = await kit.conveyor.snapshot();
  assert.deepEqual((snapshot.plugins['forge-gitea'] as { webhooks: object }).webhooks, { accepted: 2, duplicates: 2, ignored: 0, rejected: 0 });
});

test('a merged PR reaches intake: the task on that branch is done', async (t) => {
  const { kit, fake } = await setup(t);
  const created = await kit.conveyor.intake.startPipeline({ repo: 'acme/orchestrator', trackerIssueId: 'ISSUE-1', title: 'Add retry', description: '' });
  const task = created.task;
  fake.push('acme/orchestrator', task.branch, fakeSha('work'));
  const forge = kit.conveyor.container.resolve<ForgePort>(CoreTokens.Forge);
  const pr = await forge.ensurePullRequest({ repo: 'acme/orchestrator', head: task.branch, base: 'main', title: 'x', body: '' });
  const d = await fake.mergeAndNotify('acme/orchestrator', pr.number);
  assert.deepEqual(JSON.parse(d.response!.body), { accepted: true, duplicate: false });
  await kit.conveyor.webhooks.idle();
  assert.equal((await kit.conveyor.store.tasks.get(task.id))?.stage, 'done');
  const rows = await kit.inbox();
  assert.deepEqual(rows.map((r) => r.status), ['processed']);
});
