import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import 'reflect-metadata';
import { createConveyor, git, type OwnedRoute } from '@conveyor/core';
import { createBareRepo, dropTestSchema, EventRecorder, PG_URL_ENV, RecordingLogger, testDatabases } from '@conveyor/core/testing';
import { BUNDLED_PLUGINS, DEMO_STARTER_FILES, embeddedConfig } from '@conveyor/host';

const post = (routes: readonly OwnedRoute[], url: string) => routes.find((r) => r.method === 'POST' && r.url === url)!;

/** Green on each branch alone, red once both changes are in one tree. */
const TOGETHER_TEST = `import fs from 'node:fs';
import assert from 'node:assert/strict';
import { test } from 'node:test';

test('alpha and beta never ship together', () => {
  assert.ok(!(fs.existsSync('src/add-alpha.js') && fs.existsSync('src/add-beta.js')), 'alpha and beta break together');
});
`;

for (const dialect of testDatabases()) {
  test(`[${dialect}] the race through the whole pipeline: two tasks green alone and red together; main never goes red, one lands, the other is rebased, re-tested and sent back`, { timeout: 180_000 }, async (t) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-race-'));
    const schema = `race_${Date.now().toString(36)}`;
    const origin = await createBareRepo({ ...DEMO_STARTER_FILES, 'test/together.test.js': TOGETHER_TEST });
    // Main moves only by the forge's merge (update-ref inside the origin), never by a push.
    const refusals = path.join(origin.dir, 'refused-pushes');
    fs.writeFileSync(
      path.join(origin.origin, 'hooks', 'pre-receive'),
      `#!/bin/sh\nwhile read old new ref; do\n  if [ "$ref" = refs/heads/main ]; then echo "$ref" >> "${refusals}"; exit 1; fi\ndone\nexit 0\n`,
      { mode: 0o755 },
    );
    const config = embeddedConfig({ dataDir, maxConcurrency: 2, autoApprove: true }) as Record<string, Record<string, unknown>>;
    config.repos = { demo: { url: origin.origin, testCommand: 'node --test' } };
    config.worker = { ...config.worker, pollIntervalMs: 50 };
    const plugins = config.plugins as Record<string, Record<string, unknown>>;
    plugins['forge-git'] = { ...plugins['forge-git'], initMissing: false };
    plugins['merge-gate'] = { enabled: true, busyDelayMs: 200 };
    // One rollback is enough to show the loser sent back; then it is blocked.
    config.pipeline = { maxDeveloperRetries: 1, maxDefers: 200 };
    if (dialect === 'pg') config.database = { client: 'pg', url: `\${${PG_URL_ENV}}`, schema };
    const conveyor = await createConveyor({ config, plugins: BUNDLED_PLUGINS, logger: new RecordingLogger(), env: { [PG_URL_ENV]: process.env[PG_URL_ENV] } });
    const events = new EventRecorder(conveyor.events);
    t.after(async () => {
      await conveyor.stop();
      if (dialect === 'pg') await dropTestSchema(schema);
      origin.dispose();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    await conveyor.start();

    const created = await Promise.all(['Add alpha', 'Add beta'].map((title) => post(conveyor.routes, '/tasks').handler({ params: {}, query: {}, headers: {}, body: { title } })));
    const ids = created.map((c) => (c.body as { task: { id: number } }).task.id);
    const mergeGateFailed = () => events.of('gate.failed').filter((e) => e.gate === 'merge_gate' && e.rollbackTo === 'development');
    await events.waitFor('task.done', () => events.of('task.done').length === 1, 170_000);
    await events.waitFor('gate.failed', () => mergeGateFailed().length >= 1, 170_000);

    const tasks = await Promise.all(ids.map(async (id) => (await conveyor.store.tasks.get(id))!));
    const winner = tasks.find((x) => x.stage === 'done')!;
    const loser = tasks.find((x) => x !== winner)!;
    assert.ok(winner.mergedAt, 'the winner merged');
    assert.equal(mergeGateFailed()[0]!.taskId, loser.id, 'the loser was sent back by the merge gate');
    assert.match(mergeGateFailed()[0]!.reason ?? '', /re-test .* failed/);
    assert.ok(!(await conveyor.store.tasks.transitions(loser.id)).some((x) => x.to === 'done'), 'the loser never landed');

    // Main: the winner's change only, and its tests pass.
    const main = path.join(dataDir, 'main-check');
    await git(['clone', '--quiet', '--branch', 'main', origin.origin, main], { cwd: dataDir });
    const slug = winner.title === 'Add alpha' ? 'add-alpha' : 'add-beta';
    const other = slug === 'add-alpha' ? 'add-beta' : 'add-alpha';
    assert.ok(fs.existsSync(path.join(main, 'src', `${slug}.js`)), 'main has the winner');
    assert.ok(!fs.existsSync(path.join(main, 'src', `${other}.js`)), 'main does not have the loser');
    const { status: exitCode, stdout } = spawnSync(process.execPath, ['--test'], { cwd: main, encoding: 'utf8' });
    assert.equal(exitCode, 0, `main is green:\n${stdout}`);
    // The loser's branch was rebased onto the new main before its re-test.
    const loserHead = (await origin.head(loser.branch))!;
    const mainHead = (await origin.head('main'))!;
    assert.equal((await git(['merge-base', '--is-ancestor', mainHead, loserHead], { cwd: origin.origin, allowFailure: true })).exitCode, 0);
    assert.equal(fs.existsSync(refusals), false, 'no push to main was ever tried');
  });
}
