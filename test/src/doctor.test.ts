import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { resolveConfig } from '@conveyor/core';
import { BUNDLED_PLUGINS, runChecks } from '@conveyor/host';
import { FakeGitea } from '@conveyor/plugin-forge-gitea/testing';
import { FakePlane } from '@conveyor/plugin-tracker-plane/testing';

test('doctor checks that Plane and Gitea answer with the configured credentials, and says what to fix', async (t) => {
  const plane = await FakePlane.start();
  const gitea = await FakeGitea.start();
  // doctor opens the database: keep it out of the checkout.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-doctor-'));
  t.after(async () => {
    await plane.close();
    await gitea.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const config = (planeKey: string, giteaToken: string) =>
    resolveConfig(
      {
        instance: { dataDir: dir },
        database: { filename: path.join(dir, 'conveyor.db') },
        repos: { 'acme/app': {} },
        plugins: {
          'tracker-local': { enabled: false },
          'forge-git': { enabled: false },
          'tracker-plane': { enabled: true, baseUrl: plane.url, workspaceSlug: plane.workspaceSlug, apiKey: '${PK}', webhookSecret: '${PS}', projects: { [plane.projectId]: { repo: 'acme/app' } } },
          'forge-gitea': { enabled: true, baseUrl: gitea.url, token: '${GT}', webhookSecret: '${GS}' },
        },
      },
      BUNDLED_PLUGINS,
      { env: { PK: planeKey, PS: 's', GT: giteaToken, GS: 's' } },
    );
  const good = await runChecks(config(plane.apiKey, gitea.token));
  assert.deepEqual(good.filter((c) => c.name.startsWith('Plane') || c.name === 'Gitea').map((c) => [c.name, c.ok]), [[`Plane project ${plane.projectId}`, true], ['Gitea', true]]);
  const bad = await runChecks(config('wrong-key', 'wrong-token'));
  const plain = bad.find((c) => c.name.startsWith('Plane'))!;
  assert.equal(plain.ok, false);
  assert.match(plain.detail, /answered 403 \(credentials refused\)/);
  assert.match(plain.fix!, /PLANE_API_KEY/);
  assert.equal(bad.find((c) => c.name === 'Gitea')!.ok, false);
  assert.ok(!JSON.stringify(bad).includes('wrong-key'), 'the credential is never printed');
});
