import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ConfigError, readConfigFile, redactConfig, resolveConfig } from '@conveyor/core';
import { BUNDLED_PLUGINS } from '@conveyor/host';

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/plane-gitea-claude/conveyor.config.yaml');
const env = {
  DATABASE_URL: 'postgres://conveyor:pw@db:5432/conveyor',
  CONVEYOR_API_TOKEN: 'a'.repeat(32),
  PLANE_API_KEY: 'plane_api_x',
  PLANE_WEBHOOK_SECRET: 'plane_wh_x',
  GITEA_TOKEN: 'gitea-token',
  GITEA_WEBHOOK_SECRET: 'gitea-secret',
};

test('the production example validates with its secrets from the environment, and enables exactly Plane, Gitea, Claude, the lessons journal, metrics, the dashboard, cancel (STOP), the reconciler, the reaper and the deploy-status guard (and task-deps and post-deploy-monitor, inert until a dependency or a health check is declared)', () => {
  const config = resolveConfig(readConfigFile(file), BUNDLED_PLUGINS, { env, source: file });
  const enabled = Object.entries(config.plugins).filter(([, s]) => s.enabled).map(([n]) => n).sort();
  assert.deepEqual(enabled, ['agent-claude', 'cancel', 'dashboard', 'deploy-status-guard', 'forge-gitea', 'lessons', 'metrics', 'post-deploy-monitor', 'reaper', 'reconciler', 'task-deps', 'tracker-plane']);
  assert.equal(config.database.client, 'pg');
  const printed = JSON.stringify(redactConfig(config, BUNDLED_PLUGINS));
  for (const secret of Object.values(env)) assert.ok(!printed.includes(secret), 'no secret is printed');
});

test('without its environment the example fails at start, naming each missing variable', () => {
  assert.throws(() => resolveConfig(readConfigFile(file), BUNDLED_PLUGINS, { env: {}, source: file }), (err: ConfigError) => {
    const missing = err.issues.map((i) => i.expected).join('\n');
    return Object.keys(env).every((name) => missing.includes(`environment variable ${name} to be set`));
  });
});
