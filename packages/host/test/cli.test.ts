import { report } from '../src/cli/task-commands.js';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../src/cli/main.js';
import type { Output } from '../src/cli/output.js';
import { BIN, startHost, tmpDir } from './spawn-cli.js';


function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => void stdout.push(l), err: (l) => void stderr.push(l) };
}


test('demo --json runs one task to done, merged, and ends with one JSON line', { timeout: 120_000 }, async () => {
  const io = capture();
  const code = await main(['node', 'conveyor', 'demo', '--json', '--title', 'Add a greeting'], io);
  assert.equal(code, 0, io.stderr.join('\n'));
  const last = JSON.parse(io.stdout.at(-1)!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(last), ['task', 'final_stage', 'stages', 'merged', 'cost_usd']);
  assert.equal(last.final_stage, 'done');
  assert.equal(last.merged, true);
  assert.deepEqual(last.stages, ['analysis', 'architecture', 'development', 'review', 'testing', 'deploy-staging', 'deploy', 'done']);
  assert.ok((last.cost_usd as number) > 0);
  assert.equal(io.stdout.length, 1, 'with --json, stdout is the JSON line alone');
  assert.ok(io.stderr.some((l) => / ET-001 development → review$/.test(l)), 'live stage progress is printed to stderr');
  assert.ok(io.stderr.some((l) => l.startsWith('ET-001 cost summary\n- Analyst ×1: ') && /simulated/.test(l)));
});

test('config check prints the effective config with secrets redacted; an invalid one names path, expected and found', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'conveyor.config.yaml');
  fs.writeFileSync(file, 'database:\n  client: pg\n  url: ${DB_URL_FOR_TEST}\n');
  process.env.DB_URL_FOR_TEST = 'postgres://u:hunter2@h/db';
  t.after(() => delete process.env.DB_URL_FOR_TEST);
  const ok = capture();
  assert.equal(await main(['node', 'conveyor', 'config', 'check', '--config', file], ok), 0);
  const printed = ok.stdout.join('\n');
  assert.match(printed, /url: "\[redacted\]"/);
  assert.doesNotMatch(printed, /hunter2/);
  fs.writeFileSync(file, 'worker:\n  maxConcurrency: none\n');
  const bad = capture();
  assert.equal(await main(['node', 'conveyor', 'config', 'check', '--config', file], bad), 2);
  assert.match(bad.stderr.join('\n'), /worker\.maxConcurrency: expected integer ≥ 1, found "none"/);
});

test('every command has --help', async () => {
  for (const cmd of [['start'], ['demo'], ['migrate'], ['config', 'check'], ['task', 'create'], ['task', 'list'], ['task', 'show'], ['task', 'stop'], ['task', 'confirm-deploy'], ['doctor']]) {
    const io = capture();
    const code = await main(['node', 'conveyor', ...cmd, '--help'], io);
    assert.equal(code, 0, cmd.join(' '));
    assert.match(io.stdout.join('\n'), new RegExp(`Usage: conveyor ${cmd.join(' ')}`));
  }
});

test('migrate brings a fresh database up to date, then says so', async (t) => {
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, 'c.yaml'), `instance:\n  dataDir: ${dir}\ndatabase:\n  filename: ${path.join(dir, 'db.sqlite3')}\nplugins:\n  agent-claude:\n    enabled: false\n`);
  const first = capture();
  assert.equal(await main(['node', 'conveyor', 'migrate', '--config', path.join(dir, 'c.yaml')], first), 0);
  assert.match(first.stdout[0]!, /^applied: core\/0001_init, core\/0002_pull_requests, core\/0003_gate_waits, core\/0004_budgets, core\/0005_agent_run_diagnostics, core\/0007_deploy_phases, core\/0008_outbox, core\/0009_job_fencing, core\/0011_live_task_order, tracker-local\/0001_issues, tracker-local\/0002_idempotency_keys, forge-git\/0001_pull_requests, lessons\/0001_lessons, task-deps\/0001_task_deps, post-deploy-monitor\/0001_windows, reconciler\/0001_claims$/);
  const again = capture();
  await main(['node', 'conveyor', 'migrate', '--config', path.join(dir, 'c.yaml')], again);
  assert.equal(again.stdout[0], 'the database is up to date');
});

test('`conveyor start` on the embedded default, then `conveyor task create` in another process carries the task to done', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t);
  const server = await startHost(t, dir, '--port', '0');
  const url = server.url;
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--url', url], { cwd: dir, encoding: 'utf8' });
  const unauthorized = await fetch(`${url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"x"}' });
  assert.equal(unauthorized.status, 401, 'no mutating route is open without the token');
  const created = cli('task', 'create', '--title', 'Add a farewell');
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stdout, /created task 1: ET-001 on branch et-001-add-a-farewell/);
  const plain = cli('task', 'show', '1');
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /\n {2}waiting for: [A-Z][^{}\n]*\.\n/, 'one sentence, never raw JSON');
  const deps = cli('task', 'deps', '1');
  assert.equal(deps.status, 0, deps.stderr);
  assert.match(deps.stdout, /task 1 depends on no task/);
  let stage = '';
  for (let i = 0; i < 600 && stage !== 'done'; i++) {
    const shown = cli('task', 'show', '1', '--json');
    stage = (JSON.parse(shown.stdout) as { task: { stage: string } }).task.stage;
    if (stage !== 'done') await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(stage, 'done');
  assert.match(cli('task', 'list').stdout, /ET-001\s+done\s+Add a farewell/);
  assert.equal(fs.statSync(path.join(dir, '.conveyor', 'token')).mode & 0o777, 0o600);
  assert.equal(await server.stop(), 0);
  assert.match(server.stderr(), /conveyor stopped/);
});

test('`conveyor run` lists plugins\' sub-commands and runs one with its arguments', async (t) => {
  const dir = tmpDir(t);
  const cfg = path.join(dir, 'c.yaml');
  fs.writeFileSync(cfg, `instance:\n  dataDir: ${dir}\ndatabase:\n  filename: ${path.join(dir, 'db.sqlite3')}\nplugins:\n  agent-claude:\n    enabled: false\n`);
  const io = capture();
  assert.equal(await main(['node', 'conveyor', 'run', '--config', cfg], io), 0);
  assert.equal(io.stdout.join('\n'), 'no enabled plugin has sub-commands');
  const missing = capture();
  assert.equal(await main(['node', 'conveyor', 'run', 'nope', '--config', cfg], missing), 3);
});

test('`conveyor start` on a port in use stops everything and exits non-zero (no headless worker left)', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t);
  const net = await import('node:net');
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const res = spawnSync(process.execPath, [BIN, 'start', '--port', String(port)], { cwd: dir, encoding: 'utf8', timeout: 50_000 });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /^conveyor: port \d+ on 127\.0\.0\.1 is in use: .*--port/m);
});

test('with host.readAuth token, every CLI command that reads still works (it sends the token); the data directory is 0700, database and token 0600, an older 0755 one is narrowed once', { timeout: 120_000, skip: process.platform === 'win32' }, async (t) => {
  const dir = tmpDir(t);
  const dataDir = path.join(dir, '.conveyor');
  // As an earlier version left it.
  fs.mkdirSync(dataDir);
  fs.chmodSync(dataDir, 0o755);
  const env = { ...process.env, CONVEYOR_HOST_READ_AUTH: 'token' };
  const server = spawn(process.execPath, [BIN, 'start', '--port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => server.kill('SIGKILL'));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host did not start: ${output}`)), 30_000);
    const read = (d: Buffer) => {
      output += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    server.stdout.on('data', read);
    server.stderr.on('data', read);
  });
  for (const route of ['/tasks', '/tasks/1', '/status', '/queue', '/local-tracker/issues/1']) {
    assert.equal((await fetch(`${url}${route}`)).status, 401, `GET ${route} needs the token`);
  }
  assert.equal((await fetch(`${url}/health`)).status, 200);
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--url', url], { cwd: dir, env, encoding: 'utf8' });
  const created = cli('task', 'create', '--title', 'Add a farewell');
  assert.equal(created.status, 0, created.stderr);
  for (const args of [['task', 'list'], ['task', 'list', '--json'], ['task', 'list', '--live'], ['task', 'show', '1'], ['task', 'show', '1', '--json']]) {
    const res = cli(...args);
    assert.equal(res.status, 0, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stdout, /Add a farewell/, args.join(' '));
  }
  const confirm = cli('task', 'confirm-deploy', '1');
  assert.equal(confirm.status, 1, 'nothing to confirm: the task is not at deploy');
  assert.match(confirm.stderr, /^error 409: .* does not ask for a deploy confirmation/m);
  const stopped = cli('task', 'stop', '1');
  assert.equal(stopped.status, 0, stopped.stderr);
  // The demo's agents are quick: the task is cancelled, or already done.
  assert.match(stopped.stdout, /^task 1: stop (requested; cancelled at \w+|was already requested; ended: task 1 is already done)/);
  const retried = cli('task', 'retry', '1');
  assert.equal(retried.status, 1, 'an ended task is not retried');
  assert.match(retried.stderr, /error 400: task 1 is (cancelled|done); it cannot be retried/);
  assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
  for (const file of ['token', 'conveyor.db']) assert.equal(fs.statSync(path.join(dataDir, file)).mode & 0o777, 0o600, file);
  server.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => server.on("exit", (c: number | null) => resolve(c)));
  assert.equal(code, 0, output);
  const narrowed = output.split('\n').filter((l) => l.includes('narrowed '));
  assert.equal(narrowed.length, 1, output);
  assert.match(narrowed[0]!, /\.conveyor \(0755 → 0700\)/);
});

test('a refused STOP (no cancel plugin: 409) makes `task stop` exit non-zero with the message', () => {
  const err: string[] = [];
  const io = { out: () => {}, err: (s: string) => err.push(s) } as unknown as Parameters<typeof report>[0];
  const message = 'STOP needs the cancel plugin, which is not enabled: set plugins.cancel.enabled: true (or CONVEYOR_PLUGINS_CANCEL_ENABLED=true) and restart the host';
  assert.equal(report(io, { status: 409, body: { error: 'conflict', message } }, () => ''), 1);
  assert.deepEqual(err, [`error 409: ${message}`]);
});
