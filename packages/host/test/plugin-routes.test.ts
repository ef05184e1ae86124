import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definePlugin } from '@conveyor/core';
import { createTestConveyor, testDatabases } from '@conveyor/core/testing';
import { trackerLocalPlugin } from '@conveyor/plugin-tracker-local';
import { buildServer } from '../src/server/index.js';
import { AUTH, countRows, startHost, TOKEN } from './helpers.js';
import { ODD_JSON, probePlugin, signProbe, type ProbeRecorder } from './probe-plugin.js';

const json = { 'content-type': 'application/json' };

for (const dialect of testDatabases()) {
  const d = `[${dialect}]`;
  const host = async (t: Parameters<typeof startHost>[0], config: Record<string, unknown> = {}) => {
    const recorder: ProbeRecorder = { webhooks: [], notesHandled: 0 };
    const h = await startHost(t, { dialect, plugins: [probePlugin(recorder)], config });
    return { ...h, recorder };
  };

  test(`${d} a 'token' plugin route answers 401 without or with a wrong token, and runs with it`, async (t) => {
    const { app, kit } = await host(t);
    const body = JSON.stringify({ text: 'hello' });
    const none = await app.inject({ method: 'POST', url: '/probe/notes', headers: json, body });
    assert.equal(none.statusCode, 401);
    assert.deepEqual(none.json(), { error: 'unauthorized', message: 'missing bearer token' });
    const basic = await app.inject({ method: 'POST', url: '/probe/notes', headers: { ...json, authorization: `Basic ${TOKEN}` }, body });
    assert.equal(basic.statusCode, 401);
    const wrong = await app.inject({ method: 'POST', url: '/probe/notes', headers: { ...json, authorization: `Bearer ${TOKEN}x` }, body });
    assert.deepEqual(wrong.json(), { error: 'unauthorized', message: 'invalid bearer token' });
    assert.equal(await countRows(kit, 'probe_notes'), 0);

    const ok = await app.inject({ method: 'POST', url: '/probe/notes', headers: { ...json, ...AUTH }, body });
    assert.equal(ok.statusCode, 201);
    assert.equal(typeof ok.json().id, 'number');
    assert.equal(await countRows(kit, 'probe_notes'), 1);
  });

  test(`${d} auth is checked before the body: no token and a bad body is still 401`, async (t) => {
    const { app, recorder } = await host(t);
    const res = await app.inject({ method: 'POST', url: '/probe/notes', headers: json, body: '{not json' });
    assert.equal(res.statusCode, 401);
    assert.equal(recorder.notesHandled, 0);
  });

  test(`${d} a plugin route's body schema answers 400 naming the field and writes nothing`, async (t) => {
    const { app, kit, recorder } = await host(t);
    const cases: [unknown, string][] = [
      [{ text: {} }, 'body/text must be string'],
      [{}, "body must have required property 'text'"],
      [{ text: '' }, 'body/text must NOT have fewer than 1 characters'],
      [{ text: 'x', tags: [{}] }, 'body/tags/0 must be string'],
      // Bodies are checked as sent: no type conversion.
      [{ text: 5 }, 'body/text must be string'],
      [{ text: null }, 'body/text must be string'],
      [{ text: 'x', tags: 'a' }, 'body/tags must be array'],
    ];
    for (const [payload, message] of cases) {
      const res = await app.inject({ method: 'POST', url: '/probe/notes', headers: { ...json, ...AUTH }, body: JSON.stringify(payload) });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.deepEqual(res.json(), { error: 'bad_request', message });
    }
    assert.equal(recorder.notesHandled, 0);
    assert.equal(await countRows(kit, 'probe_notes'), 0);
  });

  test(`${d} params and querystring schemas of a plugin route are enforced and coerced`, async (t) => {
    const { app } = await host(t);
    const ok = await app.inject({ method: 'GET', url: '/probe/items/12?verbose=true' });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { n: 12, verbose: true });
    const bad = await app.inject({ method: 'GET', url: '/probe/items/twelve' });
    assert.deepEqual([bad.statusCode, bad.json().message], [400, 'params/n must be integer']);
    const badQuery = await app.inject({ method: 'GET', url: '/probe/items/1?verbose=loud' });
    assert.deepEqual([badQuery.statusCode, badQuery.json().message], [400, 'querystring/verbose must be boolean']);
  });

  test(`${d} a 'webhook' route needs no bearer token and receives the exact raw bytes`, async (t) => {
    const { app, recorder } = await host(t);
    const res = await app.inject({ method: 'POST', url: '/webhooks/probe', headers: { 'content-type': 'application/json; charset=utf-8', ...signProbe(ODD_JSON) }, payload: ODD_JSON });
    assert.equal(res.statusCode, 202);
    assert.equal(res.headers['x-probe'], 'seen');
    assert.deepEqual(res.json(), { bytes: ODD_JSON.length });
    const seen = recorder.webhooks[0]!;
    assert.ok(Buffer.isBuffer(seen.rawBody));
    assert.ok(seen.rawBody.equals(ODD_JSON), 'the bytes on the wire, not a re-serialization');
    assert.equal(seen.body, undefined, 'not parsed before the route verified its signature');
    assert.equal(seen.headers['content-type'], 'application/json; charset=utf-8');
  });

  test(`${d} a webhook body is not parsed by the host (the route verifies first); other content types → 415`, async (t) => {
    const { app, recorder } = await host(t);
    // Malformed or hostile JSON reaches the route as bytes: an unsigned one is a 401
    // from the route's verifier, never a parser's 400 to an anonymous caller.
    for (const payload of ['{"action": "opened",', '{"__proto__": {"admin": true}}', '']) {
      const unsigned = await app.inject({ method: 'POST', url: '/webhooks/probe', headers: json, payload });
      assert.deepEqual([unsigned.statusCode, unsigned.json()], [401, { error: 'unauthorized', message: 'bad or missing x-probe-signature' }], payload);
      const res = await app.inject({ method: 'POST', url: '/webhooks/probe', headers: { ...json, ...signProbe(payload) }, payload });
      assert.equal(res.statusCode, 202, payload);
    }
    assert.deepEqual(recorder.webhooks.map((w) => w.rawBody!.toString('utf8')), ['{"action": "opened",', '{"__proto__": {"admin": true}}', '']);
    assert.ok(recorder.webhooks.every((w) => w.body === undefined));
    const text = await app.inject({ method: 'POST', url: '/webhooks/probe', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    assert.equal(text.statusCode, 415);
    assert.deepEqual(text.json(), { error: 'unsupported_media_type', message: 'content-type "text/plain" is not accepted: send application/json' });
  });

  test(`${d} malformed JSON or a non-JSON body to a token route is refused and writes nothing`, async (t) => {
    const { app, kit, recorder } = await host(t);
    const res = await app.inject({ method: 'POST', url: '/probe/notes', headers: { ...json, ...AUTH }, payload: '{"text": "a" "b"}' });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /^body is not valid JSON: /);
    const empty = await app.inject({ method: 'POST', url: '/probe/notes', headers: { ...json, ...AUTH }, payload: '' });
    assert.equal(empty.statusCode, 400);
    // No body at all is read as `{}`: the schema names what is missing.
    const none = await app.inject({ method: 'POST', url: '/probe/notes', headers: AUTH });
    assert.equal(none.statusCode, 400);
    assert.match(none.json().message, /text/);
    // The host speaks JSON only: a text body does not reach the schema as a string.
    const text = await app.inject({ method: 'POST', url: '/probe/notes', headers: { 'content-type': 'text/plain', ...AUTH }, payload: 'hello' });
    assert.equal(text.statusCode, 415);
    assert.equal(recorder.notesHandled, 0);
    assert.equal(await countRows(kit, 'probe_notes'), 0);
  });

  test(`${d} an oversized body is a 413 naming the limit and writes nothing (route limit and host limit)`, async (t) => {
    const { app, kit, recorder } = await host(t, { host: { bodyLimitBytes: 1024 } });
    const big = JSON.stringify({ text: 'x'.repeat(300) });
    const route = await app.inject({ method: 'POST', url: '/probe/notes', headers: { ...json, ...AUTH }, payload: big });
    assert.equal(route.statusCode, 413);
    assert.deepEqual(route.json(), { error: 'payload_too_large', message: 'request body is larger than the limit of 256 bytes' });
    assert.equal(recorder.notesHandled, 0);
    assert.equal(await countRows(kit, 'probe_notes'), 0);

    const hook = await app.inject({ method: 'POST', url: '/webhooks/probe', headers: json, payload: JSON.stringify({ pad: 'y'.repeat(2000) }) });
    assert.equal(hook.statusCode, 413);
    assert.equal(hook.json().message, 'request body is larger than the limit of 1024 bytes');
    assert.equal(recorder.webhooks.length, 0);
  });

  test(`${d} a throwing plugin handler is a 500 without its message or stack, logged with the plugin name`, async (t) => {
    const { app, logs } = await host(t);
    const res = await app.inject({ method: 'GET', url: '/probe/boom' });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: 'internal_server_error', message: 'route GET /probe/boom of plugin "probe" failed; see the host log' });
    assert.doesNotMatch(res.body, /kaboom|hunter2|at .*\.js/);
    const line = logs.find((l) => l.msg === 'plugin route handler threw');
    assert.ok(line, 'the failure is logged');
    assert.equal(line.plugin, 'probe');
    assert.match((line.err as { message: string }).message, /kaboom/);
    assert.ok((line.err as { stack?: string }).stack, 'the log keeps the stack');
  });

  test(`${d} a plugin handler throwing core's not-found error is a 404 with its message`, async (t) => {
    const { app } = await host(t);
    const res = await app.inject({ method: 'GET', url: '/probe/missing' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 'not_found', message: 'task 77 does not exist' });
  });
}

test('one log line per request, with method, url, route and status', async (t) => {
  const { app, logs } = await startHost(t, { plugins: [probePlugin()] });
  await app.inject({ method: 'GET', url: '/probe/items/3?verbose=false', headers: { authorization: `Bearer ${TOKEN}` } });
  const lines = logs.filter((l) => l.url === '/probe/items/3?verbose=false');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.msg, 'request');
  assert.equal(lines[0]!.route, '/probe/items/:n');
  assert.equal(lines[0]!.statusCode, 200);
  assert.doesNotMatch(JSON.stringify(logs), new RegExp(TOKEN));
});

test('the local tracker\'s approve needs no body: a bare POST is an empty one', async (t) => {
  const { app, kit } = await startHost(t, { plugins: [trackerLocalPlugin], config: { repos: { r: {} } } });
  const created = await app.inject({ method: 'POST', url: '/tasks', headers: { ...json, ...AUTH }, payload: JSON.stringify({ title: 'Fix login', repo: 'r' }) });
  assert.equal(created.statusCode, 201);
  const id = created.json().task.id as number;
  const bare = await app.inject({ method: 'POST', url: `/tasks/${id}/approve`, headers: AUTH });
  assert.equal(bare.statusCode, 202, bare.body);
  assert.equal(bare.json().verdict, 'approved');
  const task = (await kit.conveyor.store.tasks.get(id))!;
  assert.equal(task.humanVerdict, 'approved');
  // An unknown key is still refused: the empty default does not loosen the schema.
  const extra = await app.inject({ method: 'POST', url: `/tasks/${id}/reject`, headers: { ...json, ...AUTH }, payload: '{"coment": "typo"}' });
  assert.equal(extra.statusCode, 400);
});

test('a plugin route that clashes with a core route fails the build with the plugin name', async (t) => {
  const clash = definePlugin({
    name: 'clash',
    register(ctx) {
      ctx.addRoute({ method: 'GET', url: '/health', auth: 'none', handler: async () => ({ status: 200 }) });
    },
  });
  const kit = await createTestConveyor({ plugins: [clash] });
  t.after(() => kit.cleanup());
  await assert.rejects(buildServer({ conveyor: kit.conveyor, token: TOKEN, version: '0', logger: { level: 'silent' } }), /plugin "clash" route GET \/health cannot be mounted/);
});

test('buildServer refuses a missing or short token: no mutating route is ever open', async (t) => {
  const kit = await createTestConveyor();
  t.after(() => kit.cleanup());
  for (const token of ['', 'short', undefined as unknown as string]) {
    await assert.rejects(buildServer({ conveyor: kit.conveyor, token, version: '0', logger: { level: 'silent' } }), /at least 16 characters/);
  }
});
