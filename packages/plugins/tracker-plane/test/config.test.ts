import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, resolveConfig } from '@conveyor/core';
import { envOverridesThatFail } from '@conveyor/core/testing';
import { planeSettings, trackerPlaneConfigSchema, trackerPlanePlugin, type TrackerPlaneConfig } from '../src/index.js';

const plugins = [trackerPlanePlugin];
const env = { PLANE_API_KEY: 'k', PLANE_WEBHOOK_SECRET: 's' };
const section = (over: Record<string, unknown> = {}) => ({
  baseUrl: 'https://plane.example.com',
  workspaceSlug: 'acme',
  apiKey: '${PLANE_API_KEY}',
  webhookSecret: '${PLANE_WEBHOOK_SECRET}',
  projects: { p1: { repo: 'acme/app' } },
  ...over,
});
const resolve = (over: Record<string, unknown> = {}, e: Record<string, string> = env) => resolveConfig({ plugins: { 'tracker-plane': section(over) } }, plugins, { env: e });

test('every key has a description; secrets are marked; enabled/repos are not redeclared', () => {
  for (const [key, schema] of Object.entries(trackerPlaneConfigSchema.properties)) {
    assert.ok((schema as { description?: string }).description, `${key} has a description`);
  }
  assert.equal((trackerPlaneConfigSchema.properties.apiKey as { secret?: boolean }).secret, true);
  assert.equal((trackerPlaneConfigSchema.properties.webhookSecret as { secret?: boolean }).secret, true);
  assert.ok(!('enabled' in trackerPlaneConfigSchema.properties) && !('repos' in trackerPlaneConfigSchema.properties));
});

test('secrets come from the environment only; a literal in the file is refused', () => {
  const ok = resolve();
  assert.equal(ok.plugins['tracker-plane']!.apiKey, 'k');
  assert.throws(() => resolve({ apiKey: 'plane_api_literal' }), (e: unknown) => e instanceof ConfigError && /plugins\.tracker-plane\.apiKey: expected a \$\{ENV_NAME\} reference/.test(e.message) && !e.message.includes('plane_api_literal'));
  const viaEnv = resolveConfig({ plugins: { 'tracker-plane': section({ apiKey: undefined }) } }, plugins, { env: { ...env, CONVEYOR_PLUGINS_TRACKER_PLANE_API_KEY: 'from-env' } });
  assert.equal(viaEnv.plugins['tracker-plane']!.apiKey, 'from-env');
});

test('every documented CONVEYOR_PLUGINS_TRACKER_PLANE_… variable controls its key', () => {
  assert.deepEqual(envOverridesThatFail(plugins), []);
});

test('a disabled section validates without the connection keys', () => {
  const c = resolveConfig({ plugins: { 'tracker-plane': { enabled: false } } }, plugins, { env: {} });
  assert.equal(c.plugins['tracker-plane']!.enabled, false);
});

test('planeSettings requires the connection keys and refuses ambiguous mappings, listing every problem', () => {
  const c = resolveConfig({ plugins: { 'tracker-plane': { baseUrl: 'plane.example.com', projects: { p1: { repo: 'a' }, p2: { repo: 'a' } }, statusNames: { Approved: 'Done', Done: 'done' } } } }, plugins, { env: {} });
  assert.throws(
    () => planeSettings(c.plugins['tracker-plane'] as unknown as TrackerPlaneConfig),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const paths = e.issues.map((i) => i.path);
      assert.deepEqual(paths, [
        'plugins.tracker-plane.workspaceSlug',
        'plugins.tracker-plane.apiKey',
        'plugins.tracker-plane.webhookSecret',
        'plugins.tracker-plane.baseUrl',
        'plugins.tracker-plane.projects.p2.repo',
        'plugins.tracker-plane.statusNames.Done',
      ]);
      assert.match(e.message, /CONVEYOR_PLUGINS_TRACKER_PLANE_API_KEY/);
      assert.match(e.message, /project p1 already maps to it/);
      return true;
    },
  );
  const good = planeSettings(resolve().plugins['tracker-plane'] as unknown as TrackerPlaneConfig);
  assert.equal(good.botUserId, null);
  assert.equal(good.requestTimeoutMs, 15_000);
});
