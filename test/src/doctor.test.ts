import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findBwrap, resolveConfig } from '@conveyor/core';
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

test('doctor says whether the agent sandbox works, and fails only when bubblewrap is required and broken', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-doctor-sandbox-'));
  const pathBefore = process.env.PATH;
  t.after(() => {
    process.env.PATH = pathBefore;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const check = async (sandbox: string) => {
    const config = resolveConfig({ instance: { dataDir: dir }, database: { filename: path.join(dir, 'conveyor.db') }, workspaces: { sandbox }, repos: { r: {} }, plugins: { 'tracker-local': { enabled: false }, 'forge-git': { enabled: false }, 'agent-script': { enabled: false } } }, BUNDLED_PLUGINS, { env: {} });
    return (await runChecks(config)).find((c) => c.name === 'agent sandbox')!;
  };
  assert.deepEqual(await check('none'), { name: 'agent sandbox', ok: true, detail: 'off (workspaces.sandbox: none): agents can read everything this user can' });
  if (findBwrap()) {
    const works = await check('auto');
    assert.equal(works.ok, true);
    assert.match(works.detail, /^bubblewrap works: bubblewrap \d/);
  } else {
    process.stderr.write('\n*** bwrap is not installed: the "bubblewrap works" doctor line is not checked ***\n\n');
  }
  // No bwrap on PATH: `auto` runs unsandboxed (a line, not a failure); `bubblewrap` is a failure with a fix.
  process.env.PATH = dir;
  const auto = await check('auto');
  assert.equal(auto.ok, true);
  assert.match(auto.detail, /unavailable, agents run unsandboxed: bwrap not found on PATH/);
  const required = await check('bubblewrap');
  assert.equal(required.ok, false);
  assert.match(required.fix!, /apt-get install bubblewrap/);
});
