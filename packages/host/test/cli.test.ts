import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { main } from '../src/cli/main.js';
import type { Output } from '../src/cli/output.js';

const BIN = fileURLToPath(new URL('../../bin/conveyor.js', import.meta.url));

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => void stdout.push(l), err: (l) => void stderr.push(l) };
}

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
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
  const dir = tmp(t);
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
  for (const cmd of [['start'], ['demo'], ['migrate'], ['config', 'check'], ['task', 'create'], ['task', 'list'], ['task', 'show'], ['task', 'stop'], ['doctor']]) {
    const io = capture();
    const code = await main(['node', 'conveyor', ...cmd, '--help'], io);
    assert.equal(code, 0, cmd.join(' '));
    assert.match(io.stdout.join('\n'), new RegExp(`Usage: conveyor ${cmd.join(' ')}`));
  }
});

test('migrate brings a fresh database up to date, then says so', async (t) => {
  const dir = tmp(t);
  fs.writeFileSync(path.join(dir, 'c.yaml'), `database:\n  filename: ${path.join(dir, 'db.sqlite3')}\nplugins:\n  agent-claude:\n    enabled: false\n`);
  const first = capture();
  assert.equal(await main(['node', 'conveyor', 'migrate', '--config', path.join(dir, 'c.yaml')], first), 0);
  assert.match(first.stdout[0]!, /^applied: core\/0001_init, core\/0002_pull_requests, tracker-local\/0001_issues, forge-git\/0001_pull_requests$/);
  const again = capture();
  await main(['node', 'conveyor', 'migrate', '--config', path.join(dir, 'c.yaml')], again);
  assert.equal(again.stdout[0], 'the database is up to date');
});

test('`conveyor start` on the embedded default, then `conveyor task create` in another process carries the task to done', { timeout: 120_000 }, async (t) => {
  const dir = tmp(t);
  const server = spawn(process.execPath, [BIN, 'start', '--port', '0'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => server.kill('SIGKILL'));
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host did not start: ${stderr}`)), 30_000);
    server.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--url', url], { cwd: dir, encoding: 'utf8' });
  const unauthorized = await fetch(`${url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"x"}' });
  assert.equal(unauthorized.status, 401, 'no mutating route is open without the token');
  const created = cli('task', 'create', '--title', 'Add a farewell');
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stdout, /created task 1: ET-001 on branch et-001-add-a-farewell/);
  let stage = '';
  for (let i = 0; i < 600 && stage !== 'done'; i++) {
    const shown = cli('task', 'show', '1', '--json');
    stage = (JSON.parse(shown.stdout) as { task: { stage: string } }).task.stage;
    if (stage !== 'done') await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(stage, 'done');
  assert.match(cli('task', 'list').stdout, /ET-001\s+done\s+Add a farewell/);
  assert.equal(fs.statSync(path.join(dir, '.conveyor', 'token')).mode & 0o777, 0o600);
  server.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => server.on('exit', (c) => resolve(c)));
  assert.equal(code, 0);
  assert.match(stderr, /conveyor stopped/);
});

test('`conveyor run` lists plugins\' sub-commands and runs one with its arguments', async (t) => {
  const dir = tmp(t);
  const cfg = path.join(dir, 'c.yaml');
  fs.writeFileSync(cfg, `database:\n  filename: ${path.join(dir, 'db.sqlite3')}\nplugins:\n  agent-claude:\n    enabled: false\n`);
  const io = capture();
  assert.equal(await main(['node', 'conveyor', 'run', '--config', cfg], io), 0);
  assert.equal(io.stdout.join('\n'), 'no enabled plugin has sub-commands');
  const missing = capture();
  assert.equal(await main(['node', 'conveyor', 'run', 'nope', '--config', cfg], missing), 3);
});

test('`conveyor start` on a port in use stops everything and exits non-zero (no headless worker left)', { timeout: 60_000 }, async (t) => {
  const dir = tmp(t);
  const net = await import('node:net');
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const res = spawnSync(process.execPath, [BIN, 'start', '--port', String(port)], { cwd: dir, encoding: 'utf8', timeout: 50_000 });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /^conveyor: port \d+ on 127\.0\.0\.1 is in use: .*--port/m);
});
