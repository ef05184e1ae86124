import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { createBareRepo, dropTestSchema, eventually, PG_URL_ENV, testDatabases } from '@conveyor/core/testing';
import { DEMO_AGENT, DEMO_STARTER_FILES } from '@conveyor/host';
import { FakeGitea } from '@conveyor/plugin-forge-gitea/testing';
import { FAKE_BOT, FAKE_HUMAN, FAKE_PROJECT_ID, FakePlane } from '@conveyor/plugin-tracker-plane/testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(root, 'packages/host/bin/conveyor.js');
const PROFILE = path.join(root, 'examples/plane-gitea-claude/conveyor.config.yaml');
const GITEA_SECRET = 'gitea-webhook-secret-for-tests';

type Profile = Record<string, Record<string, unknown> & { plugins?: never }> & { plugins: Record<string, Record<string, unknown>> };

/**
 * The profile as shipped, with only what names a machine replaced: addresses of Plane
 * and Gitea, the repository's URL, local paths, the port, the `claude` executable.
 * Its project key, bot user, statuses and prefixes are used exactly as written.
 */
function localise(profile: Profile, o: { dir: string; plane: string; gitea: string; origin: string; claude: string; database: Record<string, unknown> }): Profile {
  const p = structuredClone(profile);
  p.instance = { ...p.instance, dataDir: path.join(o.dir, 'data') };
  p.database = { ...p.database, ...o.database };
  p.host = { ...p.host, address: '127.0.0.1', port: 0, shutdownGraceMs: 5_000 };
  // The stand-in for `claude` runs the demo agent from this checkout: the agent sandbox
  // (bubblewrap, when it works here) must show it, read-only, as it would show `~/.claude`.
  p.workspaces = { ...p.workspaces, root: path.join(o.dir, 'workspaces'), sandboxBind: [`${path.dirname(DEMO_AGENT)}:ro`] };
  p.worker = { ...p.worker, pollIntervalMs: 50 };
  // The reconciler as shipped (on by default), looking more often than a production host would.
  p.plugins.reconciler = { intervalMs: 300, graceMs: 1_000 };
  (p.repos as Record<string, Record<string, unknown>>)['acme/shop']!.url = o.origin;
  p.plugins['tracker-plane'] = { ...p.plugins['tracker-plane'], baseUrl: o.plane };
  p.plugins['forge-gitea'] = { ...p.plugins['forge-gitea'], baseUrl: o.gitea };
  p.plugins['agent-claude'] = { ...p.plugins['agent-claude'], command: o.claude, logDir: path.join(o.dir, 'logs') };
  return p;
}

/**
 * Stands in for Gitea's hosting and CI. On a real Gitea a push moves the branch's head
 * before the push returns; here the origin's `post-receive` hook tells the fake Gitea
 * of every branch update before git answers Conveyor's push. The CI's statuses
 * (pending, then success) follow a moment later, as a real CI's would.
 */
async function hostPushes(origin: string, gitea: FakeGitea, repo: string): Promise<() => Promise<void>> {
  const builds = new Set<Promise<unknown>>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      for (const line of body.trim().split('\n').filter(Boolean)) {
        const [, sha, ref] = line.split(' ') as [string, string, string];
        const branch = ref.replace(/^refs\/heads\//, '');
        if (branch === ref || branch === 'main' || /^0+$/.test(sha)) continue;
        gitea.push(repo, branch, sha);
        const build = (async () => {
          await gitea.sendStatus(repo, sha, 'pending', 'ci/build');
          await gitea.sendStatus(repo, sha, 'success', 'ci/build');
        })().catch(() => undefined);
        builds.add(build);
        void build.finally(() => builds.delete(build));
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const relay = `let d='';process.stdin.on('data',(c)=>(d+=c)).on('end',()=>fetch(${JSON.stringify(url)},{method:'POST',body:d}).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1)))`;
  fs.writeFileSync(path.join(origin, 'hooks', 'post-receive'), `#!/bin/sh\nexec "${process.execPath}" -e ${JSON.stringify(relay).replace(/\$/g, '\\$')}\n`, { mode: 0o755 });
  return async () => {
    await Promise.all(builds);
    await new Promise((r) => server.close(r));
  };
}

test('the production example names the fixtures\' Plane project and bot user, not a work item and the human', () => {
  const profile = parse(fs.readFileSync(PROFILE, 'utf8')) as Profile;
  const plane = profile.plugins['tracker-plane']!;
  assert.deepEqual(Object.keys(plane.projects as object), [FAKE_PROJECT_ID]);
  assert.equal(plane.botUserId, FAKE_BOT.id);
  assert.notEqual(plane.botUserId, FAKE_HUMAN.id);
});

for (const dialect of testDatabases()) {
  test(`[${dialect}] the production profile, run by \`conveyor start\` from a directory outside the checkout, carries a Plane work item to a merged Gitea PR and Done`, { timeout: 240_000 }, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-profile-'));
    const plane = await FakePlane.start();
    const gitea = await FakeGitea.start();
    const origin = await createBareRepo(DEMO_STARTER_FILES);
    const schema = `profile_${Date.now().toString(36)}`;
    t.after(async () => {
      await plane.close();
      await gitea.close();
      origin.dispose();
      if (dialect === 'pg') await dropTestSchema(schema);
      fs.rmSync(dir, { recursive: true, force: true });
    });
    gitea.addRepo('acme/shop');
    gitea.push('acme/shop', 'main', (await origin.head('main'))!);
    const stopHosting = await hostPushes(origin.origin, gitea, 'acme/shop');
    t.after(stopHosting);
    // Claude Code, played by the demo's scripted agent (it prints Claude's result JSON).
    const claude = path.join(dir, 'claude');
    fs.writeFileSync(claude, `#!/bin/sh\nexec "${process.execPath}" "${DEMO_AGENT}" "$CONVEYOR_ROLE"\n`, { mode: 0o755 });
    const database = dialect === 'pg' ? { schema } : { client: 'sqlite', url: undefined, filename: path.join(dir, 'conveyor.db') };
    const profile = localise(parse(fs.readFileSync(PROFILE, 'utf8')) as Profile, { dir, plane: plane.url, gitea: gitea.url, origin: origin.origin, claude, database });
    if (dialect !== 'pg') delete (profile.database as Record<string, unknown>).url;
    const config = path.join(dir, 'conveyor.config.yaml');
    fs.writeFileSync(config, stringify(profile));

    const env = {
      ...process.env,
      DATABASE_URL: process.env[PG_URL_ENV] ?? '',
      CONVEYOR_API_TOKEN: 't'.repeat(32),
      PLANE_API_KEY: plane.apiKey,
      PLANE_WEBHOOK_SECRET: plane.webhookSecret,
      GITEA_TOKEN: gitea.token,
      GITEA_WEBHOOK_SECRET: GITEA_SECRET,
      CONVEYOR_LOG_LEVEL: 'info',
    };
    const host = spawn(process.execPath, [BIN, 'start', '--config', config], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => host.on('exit', (code) => resolve(code)));
    t.after(() => void (host.exitCode === null && host.kill('SIGKILL')));
    let stderr = '';
    host.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // The host's JSON log (stdout), kept for a failure's diagnosis only.
    let log = '';
    host.stdout.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-400_000)));
    const url = await eventually(() => /listening on (http:\/\/\S+)/.exec(stderr)?.[1] ?? (host.exitCode !== null ? Promise.reject(new Error(stderr)) : null), 60_000, 'the host listening');
    plane.setWebhookUrl(`${url}/webhooks/plane`);
    gitea.webhooks.target = { secret: GITEA_SECRET, url: `${url}/webhooks/gitea` };

    // Dana (the fixtures' person) files the work item and moves it, as in Plane's web app.
    const issue = plane.createIssue({ name: 'Add retry to webhook sender', state: 'Backlog' });
    // What a timeout prints: the work item's state, the task as the API shows it, the host's log.
    const diagnose = async (err: unknown): Promise<never> => {
      const tasks = await fetch(`${url}/tasks`).then((r) => r.text(), (e: Error) => e.message);
      throw new Error(`${(err as Error).message}\nwork item: ${plane.stateOf(plane.issue(issue.id)).name}\ntasks: ${tasks}\nhost stderr:\n${stderr.slice(-5_000)}\nhost log (tail):\n${log.slice(-60_000)}`);
    };
    plane.moveIssue(issue.id, 'To Analyse');
    await eventually(() => plane.stateOf(plane.issue(issue.id)).name === 'In Review', 90_000, 'the work item In Review').catch(diagnose);
    plane.moveIssue(issue.id, 'Approved');
    await eventually(() => plane.stateOf(plane.issue(issue.id)).name === 'Done', 150_000, 'the work item Done').catch(diagnose);

    const res = await fetch(`${url}/tasks`);
    const { tasks } = (await res.json()) as { tasks: { workItemId: string; stage: string; prNumber: number | null; repo: string }[] };
    assert.equal(tasks.length, 1);
    assert.deepEqual({ ...tasks[0], prNumber: undefined }, { ...tasks[0], workItemId: 'SHOP-001', stage: 'done', repo: 'acme/shop', prNumber: undefined });
    assert.equal(gitea.pull('acme/shop', tasks[0]!.prNumber!).merged, true);
    // Conveyor wrote back as its bot; those echoes were recognised and ignored.
    assert.ok(plane.comments.length > 0 && plane.comments.every((c) => c.actor === FAKE_BOT.id));

    if (process.env.CONVEYOR_PROFILE_LOG) fs.writeFileSync(`${process.env.CONVEYOR_PROFILE_LOG}.${dialect}`, log);
    await stopHosting();
    host.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /conveyor stopped/);
  });
}
