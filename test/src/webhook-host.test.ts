import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import 'reflect-metadata';
import { createConveyor } from '@conveyor/core';
import { RecordingLogger } from '@conveyor/core/testing';
import { BUNDLED_PLUGINS, buildServer } from '@conveyor/host';

const PLANE_SECRET = 'plane_wh_host_test_secret';
const GITEA_SECRET = 'gitea_host_test_secret';

test('through the real host, webhooks are verified before anything is parsed, and a rejected one writes nothing', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-webhook-host-'));
  const conveyor = await createConveyor({
    config: {
      instance: { dataDir: dir },
      database: { client: 'sqlite', filename: path.join(dir, 'c.db') },
      worker: { enabled: false },
      repos: { 'acme/app': {} },
      plugins: {
        'tracker-local': { enabled: false },
        'forge-git': { enabled: false },
        'tracker-plane': { enabled: true, baseUrl: 'http://127.0.0.1:9', workspaceSlug: 'acme', apiKey: '${K}', webhookSecret: '${PS}', projects: { p1: { repo: 'acme/app' } } },
        'forge-gitea': { enabled: true, baseUrl: 'http://127.0.0.1:9', token: '${K}', webhookSecret: '${GS}' },
      },
    },
    plugins: BUNDLED_PLUGINS,
    env: { K: 'key', PS: PLANE_SECRET, GS: GITEA_SECRET },
    logger: new RecordingLogger(),
  });
  const app = await buildServer({ conveyor, token: 't'.repeat(32), version: 'test', logger: { level: 'silent' } });
  t.after(async () => {
    await app.close();
    await conveyor.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const sign = (secret: string, body: string) => crypto.createHmac('sha256', secret).update(body).digest('hex');
  const post = (url: string, body: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: body });

  for (const body of ['{"event": "issue",', '', '{"__proto__": {}}', '[]']) {
    assert.equal((await post('/webhooks/plane', body)).statusCode, 401, `unsigned ${JSON.stringify(body)} to Plane`);
    assert.equal((await post('/webhooks/gitea', body, { 'X-Gitea-Event-Type': 'status' })).statusCode, 401, `unsigned ${JSON.stringify(body)} to Gitea`);
  }
  const garbage = '{"event": "issue",';
  const signedPlane = await post('/webhooks/plane', garbage, { 'X-Plane-Signature': sign(PLANE_SECRET, garbage), 'X-Plane-Event': 'issue' });
  assert.equal(signedPlane.statusCode, 400);
  const signedGitea = await post('/webhooks/gitea', garbage, { 'X-Gitea-Signature': sign(GITEA_SECRET, garbage), 'X-Gitea-Event-Type': 'status' });
  assert.equal(signedGitea.statusCode, 400);
  const huge = JSON.stringify({ pad: 'x'.repeat(6 * 1024 * 1024) });
  assert.equal((await post('/webhooks/gitea', huge)).statusCode, 413);
  assert.equal(Number((await conveyor.db.knex('webhook_inbox').count({ n: '*' }))[0]!.n), 0, 'nothing was written');
});
