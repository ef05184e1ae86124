import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import Fastify from 'fastify';
import { createTestConveyor } from '@conveyor/core/testing';
import { BUNDLED_PLUGINS } from '../src/all-bundled-plugins.js';
import { mountConveyor } from '../src/server/index.js';
import { lazyValidator } from '../src/server/validators.js';
import { TOKEN } from './helpers.js';

test('a route validator is compiled on its first use, once, and passes Ajv its errors and the parent context', () => {
  let compiled = 0;
  const ajv = new Ajv({ coerceTypes: 'array' });
  const validate = lazyValidator(() => {
    compiled++;
    return ajv.compile({ type: 'array', items: { type: 'integer' } });
  });
  assert.equal(compiled, 0, 'nothing compiled before the first request');
  assert.ok(validate.schemaEnv, 'fastify passes the parent context to it');
  const parent = { q: '7' };
  assert.equal(validate(parent.q, { parentData: parent, parentDataProperty: 'q' }), true);
  assert.deepEqual(parent.q, [7], 'a coerced root value replaced in its parent');
  assert.equal(validate(['x']), false);
  assert.match(JSON.stringify(validate.errors), /must be integer/);
  assert.equal(validate([1]), true);
  assert.equal(validate.errors, null);
  assert.equal(compiled, 1);
});

test('a schema Ajv cannot compile fails the request that needs it, not the start', async (t) => {
  const kit = await createTestConveyor();
  const app = Fastify();
  t.after(async () => {
    await app.close();
    await kit.cleanup();
  });
  await mountConveyor(app, { conveyor: kit.conveyor, token: TOKEN });
  await app.register(async (scope) => {
    const { installValidators } = await import('../src/server/validators.js');
    installValidators(scope);
    scope.get('/broken', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer', minimum: 'zero' } } } } }, async () => ({ ok: true }));
  });
  await app.ready();
  const res = await app.inject({ method: 'GET', url: '/broken?n=1' });
  assert.equal(res.statusCode, 500);
});

test('every request schema of core and the bundled plugins is valid JSON Schema (the host compiles them without the meta-schema check)', async (t) => {
  const meta = new Ajv({ strict: false });
  const compositions = [
    { config: { repos: { demo: {} } } },
    {
      env: { K: 'an-api-key', PS: 'plane-webhook-secret', GS: 'gitea-webhook-secret' },
      config: {
        repos: { 'acme/app': {} },
        plugins: {
          'tracker-local': { enabled: false },
          'forge-git': { enabled: false },
          'agent-script': { enabled: false },
          'agent-claude': { enabled: true },
          'merge-gate': { enabled: true },
          'serial-gate': { enabled: true },
          'tracker-plane': { enabled: true, baseUrl: 'http://127.0.0.1:9', workspaceSlug: 'acme', apiKey: '${K}', webhookSecret: '${PS}', projects: { p1: { repo: 'acme/app' } } },
          'forge-gitea': { enabled: true, baseUrl: 'http://127.0.0.1:9', token: '${K}', webhookSecret: '${GS}' },
        },
      },
    },
  ];
  let checked = 0;
  for (const options of compositions) {
    const kit = await createTestConveyor({ plugins: [...BUNDLED_PLUGINS], fakes: false, ...options });
    const app = Fastify();
    t.after(async () => {
      await app.close();
      await kit.cleanup();
    });
    const schemas: { route: string; part: string; schema: unknown }[] = [];
    app.addHook('onRoute', (r) => {
      for (const part of ['body', 'querystring', 'params', 'headers'] as const) {
        const schema = (r.schema as Record<string, unknown> | undefined)?.[part];
        if (schema !== undefined) schemas.push({ route: `${String(r.method)} ${r.url}`, part, schema });
      }
    });
    await mountConveyor(app, { conveyor: kit.conveyor, token: TOKEN });
    await app.ready();
    for (const s of schemas) {
      assert.ok(meta.validateSchema(s.schema as object), `${s.route} ${s.part}: ${meta.errorsText(meta.errors)}`);
      checked++;
    }
  }
  assert.ok(checked >= 10, `${checked} schemas checked`);
});
