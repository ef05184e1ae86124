import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { GiteaClient, verifyGiteaSignature } from '../src/index.js';
import { fakeSha, goMarshalIndent } from '../src/testing/index.js';
import { fixture, FIXTURE_SECRET, startFake } from './helpers.js';

/** Every key path of a JSON value, in order (`a`, `a.b`, `list[].c` …): its shape, not its values. */
function keyPaths(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.length ? keyPaths(v[0], `${prefix}[]`) : [];
  if (!v || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => [`${prefix}${prefix ? '.' : ''}${k}`, ...keyPaths(x, `${prefix}${prefix ? '.' : ''}${k}`)]);
}
const fixtureKeys = (name: string) => keyPaths(JSON.parse(fixture(name).toString('utf8')));

/** A receiver that keeps the exact bytes and headers of each request. */
async function receiver(t: { after(fn: () => unknown): void }) {
  const got: { headers: Record<string, string | string[] | undefined>; body: Buffer }[] = [];
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.post('/hook', async (req, reply) => {
    got.push({ headers: req.headers, body: req.body as Buffer });
    return reply.code(202).send({ ok: true });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const addr = app.server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}/hook`, got };
}

test('the fake\'s PR is shaped like gitea-pr-create-response.json, its webhooks like the webhook fixtures', async (t) => {
  const hook = await receiver(t);
  const fake = await startFake(t, { webhook: { url: hook.url, secret: FIXTURE_SECRET } });
  fake.addRepo('acme/orchestrator');
  const sha = fakeSha('head');
  fake.push('acme/orchestrator', 'agent/PROJ-42-add-retry', sha, { files: ['src/a.ts'] });
  const client = new GiteaClient({ baseUrl: fake.url, token: fake.token });
  await client.createPullRequest({ owner: 'acme', name: 'orchestrator' }, { head: 'agent/PROJ-42-add-retry', base: 'main', title: 't', body: 'b' });
  const created = fake.callsTo('POST', '/api/v1/repos/acme/orchestrator/pulls')[0]!;
  assert.equal(created.status, 201);
  const res = await fetch(`${fake.url}/api/v1/repos/acme/orchestrator/pulls/1`, { headers: { Authorization: `token ${fake.token}` } });
  assert.deepEqual(keyPaths(await res.json()), fixtureKeys('gitea-pr-create-response.json'));

  await fake.sendStatus('acme/orchestrator', sha, 'success', 'CI / test (push)');
  await fake.sendPush('acme/orchestrator', 'agent/PROJ-42-add-retry', fakeSha('head2'), { files: ['src/b.ts'] });
  await fake.mergeAndNotify('acme/orchestrator', 1);
  const shapes = ['gitea-status-success.json', 'gitea-push.json', 'gitea-pull-request-merged.json'];
  assert.equal(hook.got.length, 3);
  hook.got.forEach((g, i) => assert.deepEqual(keyPaths(JSON.parse(g.body.toString('utf8'))), fixtureKeys(shapes[i]!), shapes[i]));
});

test('webhooks on the wire: Go MarshalIndent bytes, Gitea\'s headers, signatures that verify; a replay is the same bytes under a new UUID', async (t) => {
  const hook = await receiver(t);
  const fake = await startFake(t, { webhook: { url: hook.url, secret: FIXTURE_SECRET } });
  fake.addRepo('acme/orchestrator');
  const sha = fakeSha('head');
  fake.push('acme/orchestrator', 'et-001', sha, { message: 'fix <b> & "quotes"\n' });
  const d = await fake.sendStatus('acme/orchestrator', sha, 'failure', 'CI / test');
  assert.deepEqual(d.response, { status: 202, body: '{"ok":true}' });
  const got = hook.got[0]!;
  assert.ok(got.body.equals(d.body));
  assert.equal(got.body.toString('utf8'), goMarshalIndent(JSON.parse(got.body.toString('utf8'))));
  assert.match(got.body.toString('utf8'), /"message": "fix \\u003cb\\u003e \\u0026 \\"quotes\\"\\n"/);
  assert.equal(got.headers['x-gitea-event'], 'status');
  assert.equal(got.headers['x-gitea-event-type'], 'status');
  assert.equal(got.headers['content-type'], 'application/json');
  assert.equal(got.headers['x-gitea-delivery'], d.uuid);
  assert.deepEqual(verifyGiteaSignature(got.body, FIXTURE_SECRET, got.headers), { ok: true });
  assert.deepEqual(verifyGiteaSignature(got.body, FIXTURE_SECRET, { 'x-hub-signature-256': got.headers['x-hub-signature-256'] }), { ok: true });

  const replay = await fake.webhooks.redeliver(d);
  assert.notEqual(replay.uuid, d.uuid);
  assert.ok(hook.got[1]!.body.equals(got.body));
  assert.equal(hook.got[1]!.headers['x-gitea-signature'], got.headers['x-gitea-signature']);
  await fake.webhooks.resend(d);
  assert.equal(hook.got[2]!.headers['x-gitea-delivery'], d.uuid);
  assert.equal(fake.webhooks.deliveries.length, 3);

  await fake.sendStatus('acme/orchestrator', sha, 'success', 'CI / test', { emptyEventHeader: true });
  assert.equal(hook.got[3]!.headers['x-gitea-event'], '', 'Gitea 1.23.0: empty X-Gitea-Event');
  assert.equal(hook.got[3]!.headers['x-gitea-event-type'], 'status');
});

test('without a webhook target the fake says how to set one', async (t) => {
  const fake = await startFake(t);
  fake.addRepo('acme/app');
  await assert.rejects(fake.sendStatus('acme/app', fakeSha('x'), 'success', 'ci'), /no webhook target/);
});
