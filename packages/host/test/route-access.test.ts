import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { ConveyorError, definePlugin, type ConveyorPlugin, type OwnedRoute, type RouteDescriptor } from '@conveyor/core';
import { createTestConveyor, testDatabases, type TestConveyorOptions } from '@conveyor/core/testing';
import { BUNDLED_PLUGINS } from '../src/all-bundled-plugins.js';
import { accessOptions, createRouteGuards, installAccessCheck, isLoopbackAddress, mountPluginRoutes, routeAccessTable, type RouteAccessEntry } from '../src/server/index.js';
import { AUTH, countRows, startHost, TOKEN } from './helpers.js';

const READS = new Set(['GET', 'HEAD']);
const json = { 'content-type': 'application/json' };

/** The two compositions of the bundled plugins (each port has one binder, so not all at once). */
const COMPOSITIONS: Record<string, TestConveyorOptions> = {
  'embedded default (tracker-local, forge-git, agent-script)': {
    plugins: [...BUNDLED_PLUGINS],
    fakes: false,
    config: { repos: { demo: {} } },
  },
  'production (tracker-plane, forge-gitea, agent-claude)': {
    plugins: [...BUNDLED_PLUGINS],
    fakes: false,
    env: { K: 'an-api-key', PS: 'plane-webhook-secret', GS: 'gitea-webhook-secret' },
    config: {
      repos: { 'acme/app': {} },
      plugins: {
        'tracker-local': { enabled: false },
        'forge-git': { enabled: false },
        'agent-script': { enabled: false },
        'agent-claude': { enabled: true },
        'tracker-plane': { enabled: true, baseUrl: 'http://127.0.0.1:9', workspaceSlug: 'acme', apiKey: '${K}', webhookSecret: '${PS}', projects: { p1: { repo: 'acme/app' } } },
        'forge-gitea': { enabled: true, baseUrl: 'http://127.0.0.1:9', token: '${K}', webhookSecret: '${GS}' },
      },
    },
  },
};

/** The routes each composition must serve, so an empty table cannot pass. */
const EXPECTED: Record<string, string[]> = {
  'embedded default (tracker-local, forge-git, agent-script)': ['POST /tasks', 'POST /tasks/:id/stop', 'POST /tasks/:id/confirm-deploy', 'POST /tasks/:id/approve', 'POST /tasks/:id/reject', 'GET /local-tracker/issues/:id', 'GET /health', 'GET /status', 'GET /queue', 'GET /tasks', 'GET /tasks/:id', 'GET /tasks/:id/artefacts/:stage', 'GET /tasks/:id/logs'],
  'production (tracker-plane, forge-gitea, agent-claude)': ['POST /webhooks/plane', 'POST /webhooks/gitea', 'POST /tasks/:id/stop', 'GET /tasks/:id'],
};

/** A concrete URL for a route pattern: every `:param` becomes 1. */
const concrete = (url: string) => url.replace(/:[A-Za-z_]+/g, '1');
const key = (e: RouteAccessEntry) => `${e.method} ${e.url}`;

const WRITTEN_TABLES = ['tasks', 'jobs', 'task_transitions', 'webhook_inbox', 'local_issues', 'local_issue_events'];

async function writtenRows(kit: Awaited<ReturnType<typeof createTestConveyor>>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of WRITTEN_TABLES) if (await kit.conveyor.db.knex.schema.hasTable(table)) out[table] = await countRows(kit, table);
  return out;
}

for (const dialect of testDatabases()) {
  const d = `[${dialect}]`;
  for (const [name, options] of Object.entries(COMPOSITIONS)) {
    test(`${d} ${name}: every route that changes state refuses a caller without the token (or, for a webhook, the signature) and writes nothing`, async (t) => {
      const { app, kit } = await startHost(t, { ...options, dialect }, { readAuth: 'none' });
      const table = routeAccessTable(app);
      for (const want of EXPECTED[name]!) assert.ok(table.some((e) => key(e) === want), `${want} is mounted (${table.map(key).join(', ')})`);
      const mutating = table.filter((e) => !READS.has(e.method));
      assert.ok(mutating.length > 0);
      const before = await writtenRows(kit);
      for (const route of mutating) {
        assert.ok(route.access === 'token' || route.access === 'webhook', `${key(route)} is ${route.access}`);
        const callers: Record<string, string>[] = [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Basic ${TOKEN}` }];
        // A webhook's sender has no bearer token, and the token is no signature.
        if (route.access === 'webhook') callers.push(AUTH);
        for (const caller of callers) {
          const res = await app.inject({ method: route.method as 'POST', url: concrete(route.url), headers: { ...json, ...caller, 'x-gitea-event-type': 'status' }, payload: JSON.stringify({ title: 'sneaky', comment: 'x' }) });
          assert.equal(res.statusCode, 401, `${key(route)} with ${JSON.stringify(caller)}: ${res.body}`);
          assert.equal(res.json().error, 'unauthorized');
        }
      }
      assert.deepEqual(await writtenRows(kit), before, 'a refused request writes nothing');
      // The host ran each webhook's verifier once and the handler never: each refusal counted once.
      const plugins = (await kit.conveyor.snapshot()).plugins as Record<string, { webhook?: { rejected: number }; webhooks?: { rejected: number } }>;
      if (plugins['tracker-plane']) assert.equal(plugins['tracker-plane'].webhook?.rejected, 4);
      if (plugins['forge-gitea']) assert.equal(plugins['forge-gitea'].webhooks?.rejected, 4);
    });

    test(`${d} ${name}: with readAuth token every read but /health needs the token; with none, reads are open`, async (t) => {
      const guarded = await startHost(t, { ...options, dialect }, { readAuth: 'token' });
      const reads = routeAccessTable(guarded.app).filter((e) => READS.has(e.method));
      assert.ok(reads.some((e) => e.method === 'HEAD'), 'HEAD twins are listed and checked too');
      for (const route of reads) {
        const url = concrete(route.url);
        const anonymous = await guarded.app.inject({ method: route.method as 'GET', url });
        if (route.url === '/health') {
          assert.equal(anonymous.statusCode, 200, 'a load balancer has no token');
          continue;
        }
        // A plugin's public route (the dashboard's page shells and assets) answers anyone; it shows data only when reads are open.
        if (route.access === 'public') {
          assert.equal(anonymous.statusCode, 200, `${key(route)} is public`);
          continue;
        }
        assert.equal(anonymous.statusCode, 401, `${key(route)} without a token`);
        assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="conveyor"');
        const wrong = await guarded.app.inject({ method: route.method as 'GET', url, headers: { authorization: 'Bearer not-the-token-at-all' } });
        assert.equal(wrong.statusCode, 401, `${key(route)} with a wrong token`);
        // A GET of the event stream never ends by itself: events.test.ts reads it over a socket.
        if (key(route) === 'GET /events') continue;
        const ok = await guarded.app.inject({ method: route.method as 'GET', url, headers: AUTH });
        assert.notEqual(ok.statusCode, 401, `${key(route)} with the token`);
        assert.ok(ok.statusCode < 500, `${key(route)} with the token: ${ok.statusCode} ${ok.body}`);
      }
      const open = await startHost(t, { ...options, dialect }, { readAuth: 'none' });
      for (const route of routeAccessTable(open.app).filter((e) => READS.has(e.method) && key(e) !== 'GET /events')) {
        const res = await open.app.inject({ method: route.method as 'GET', url: concrete(route.url) });
        // The agent logs can carry what an agent read: the token even when reads are open.
        if (route.access === 'token') assert.equal(res.statusCode, 401, `${key(route)} needs the token with readAuth none`);
        else assert.notEqual(res.statusCode, 401, `${key(route)} is open with readAuth none`);
      }
      assert.ok(routeAccessTable(open.app).some((e) => key(e) === 'GET /tasks/:id/logs' && e.access === 'token'), 'the logs route is a token route');
    });
  }
}

test('host.readAuth defaults to token off loopback and to none on it; an explicit value wins', async (t) => {
  const cases: [Record<string, unknown>, number][] = [
    [{ address: '0.0.0.0' }, 401],
    [{ address: '::' }, 401],
    [{ address: '192.168.1.20' }, 401],
    [{ address: '127.0.0.1' }, 200],
    [{ address: 'localhost' }, 200],
    [{ address: '::1' }, 200],
    [{ address: '0.0.0.0', readAuth: 'none' }, 200],
    [{ address: '127.0.0.1', readAuth: 'token' }, 401],
  ];
  for (const [host, status] of cases) {
    const { app } = await startHost(t, { config: { host } });
    const res = await app.inject({ method: 'GET', url: '/tasks' });
    assert.equal(res.statusCode, status, JSON.stringify(host));
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
  }
});

test('isLoopbackAddress: only addresses no other machine can reach', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.equal(isLoopbackAddress(a), true, a);
  for (const a of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.20', '::ffff:10.0.0.1', 'build-01', 'example.com', '', '128.0.0.1']) assert.equal(isLoopbackAddress(a), false, a);
});

/** A plugin that adds one route, for the refusals below. */
function onePlugin(route: RouteDescriptor): ConveyorPlugin {
  return definePlugin({ name: 'sneaky', register: (ctx) => ctx.addRoute(route) }) as unknown as ConveyorPlugin;
}

const handler = async () => ({ status: 200 });

test('a plugin that adds a route changing state without the token or a verifier fails the start, naming plugin and route', async () => {
  const refused: [RouteDescriptor, RegExp][] = [
    [{ method: 'POST', url: '/sneaky', auth: 'none', handler }, /^plugin "sneaky" failed to register: route POST \/sneaky changes state but has auth "none": give it auth "token"/],
    [{ method: 'DELETE', url: '/sneaky/:id', auth: 'none', handler }, /route DELETE \/sneaky\/:id changes state but has auth "none"/],
    [{ method: 'PUT', url: '/sneaky', auth: 'none', handler }, /route PUT \/sneaky changes state/],
    [{ method: 'PATCH', url: '/sneaky', auth: 'none', handler }, /route PATCH \/sneaky changes state/],
    [{ method: 'POST', url: '/webhooks/sneaky', auth: 'webhook', handler }, /route POST \/webhooks\/sneaky has auth "webhook" but no verify function: declare verify\(request\)/],
    [{ method: 'GET', url: '/sneaky', auth: 'open' as 'none', handler }, /route GET \/sneaky has auth "open": expected "none" or "public" \(GET only\), "token" or "webhook"/],
    [{ method: 'POST', url: '/sneaky', auth: 'public', handler }, /route POST \/sneaky changes state but has auth "public": only a GET may be public/],
  ];
  for (const [route, message] of refused) {
    await assert.rejects(createTestConveyor({ plugins: [onePlugin(route)] }), (err: ConveyorError) => {
      assert.equal(err.code, 'CONVEYOR_PLUGIN_REGISTER');
      assert.equal((err.cause as ConveyorError).code, 'CONVEYOR_ROUTE_ACCESS');
      assert.match(err.message, message);
      return true;
    });
  }
});

test('mountPluginRoutes refuses a hand-built route list the same way, naming plugin and route', async (t) => {
  const app = Fastify({ logger: false });
  t.after(() => app.close());
  const guards = createRouteGuards(TOKEN, 'none');
  const open: OwnedRoute = { plugin: 'hand', method: 'POST', url: '/open', auth: 'none', handler };
  await assert.rejects(mountPluginRoutes(app, [open], guards), /^Error: plugin "hand" route POST \/open cannot be mounted: route POST \/open changes state but has auth "none"/);
  const unsigned: OwnedRoute = { plugin: 'hand', method: 'POST', url: '/hook', auth: 'webhook', handler };
  await assert.rejects(mountPluginRoutes(app, [unsigned], guards), /plugin "hand" route POST \/hook cannot be mounted: .*no verify function/);
});

test('the host refuses any route of its own that does not declare its access, or changes state without a guard', async (t) => {
  const app = Fastify({ logger: false });
  t.after(() => app.close());
  installAccessCheck(app);
  const guards = createRouteGuards(TOKEN, 'none');
  assert.throws(() => app.post('/forgot', handler), /route POST \/forgot declares no access/);
  assert.throws(() => app.get('/forgot', handler), /route GET \/forgot declares no access/);
  assert.throws(() => app.post('/read', accessOptions('read', guards), handler), /route POST \/read changes state but its access is "read"/);
  assert.throws(() => app.delete('/public', accessOptions('public', guards), handler), /route DELETE \/public changes state but its access is "public"/);
  app.post('/guarded', accessOptions('token', guards), handler);
  app.get('/read', accessOptions('read', guards), handler);
  assert.deepEqual(routeAccessTable(app).map(key), ['POST /guarded', 'GET /read', 'HEAD /read']);
});
