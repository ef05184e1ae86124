import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from '@conveyor/core/testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(root, 'packages/host/bin/conveyor.js');

function tmp(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-guides-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

test('task show at the analysis gate prints the analysis and the exact approve/reject commands; approve says what it did, and why nothing happened the second time', { timeout: 120_000 }, async (t) => {
  const dir = tmp(t);
  const data = path.join(dir, 'data');
  const config = path.join(dir, 'conveyor.config.yaml');
  fs.writeFileSync(
    config,
    [
      `instance: { dataDir: ${JSON.stringify(data)} }`,
      `database: { client: sqlite, filename: ${JSON.stringify(path.join(data, 'conveyor.db'))} }`,
      `workspaces: { root: ${JSON.stringify(path.join(data, 'workspaces'))} }`,
      'host: { address: 127.0.0.1, port: 0 }',
      'worker: { pollIntervalMs: 50 }',
      `repos: { demo: { url: ${JSON.stringify(path.join(data, 'origin', 'demo.git'))}, testCommand: node --test } }`,
      'plugins:',
      '  tracker-local: { defaultRepo: demo, autoApprove: false }',
      `  forge-git: { initMissing: true, logDir: ${JSON.stringify(path.join(data, 'logs'))} }`,
      `  agent-script: { defaultCommand: 'node "\${CONVEYOR_DEMO_AGENT}" "$CONVEYOR_ROLE"', logDir: ${JSON.stringify(path.join(data, 'logs'))} }`,
      '  agent-claude: { enabled: false }',
    ].join('\n'),
  );
  const host = spawn(process.execPath, [BIN, 'start', '--config', config], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CONVEYOR_LOG_LEVEL: 'warn' } });
  const exited = new Promise<number | null>((resolve) => host.on('exit', (code) => resolve(code)));
  t.after(() => void (host.exitCode === null && host.kill('SIGKILL')));
  let stderr = '';
  host.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = (await eventually(() => /listening on (http:\/\/\S+)/.exec(stderr)?.[1], 30_000, 'the host listening'))!;
  const task = (...args: string[]) => cli(['task', ...args, '--config', config, '--url', url], dir);

  assert.equal((await task('create', '--title', 'Add a greeting')).code, 0);
  const show = (await eventually(async () => {
    const out = await task('show', '1');
    return /Approve: /.test(out.stdout) ? out : null;
  }, 60_000, 'task 1 waiting for approval'))!;
  assert.equal(show.code, 0);
  assert.match(show.stdout, /^ {2}waiting for: Waits for a person's verdict on the analysis since /m);
  assert.match(show.stdout, /^ {4}job 1 {2}analysis +analyst +done/m);
  assert.match(show.stdout, /^ {4}run 1 {2}analysis +analyst #1 {2}exit 0, 1800 in \/ 2400 out, \$\d+\.\d{4} {2}log: /m);
  assert.match(show.stdout, /The analysis \(docs\/pipeline\/ET-001\/01-analysis\.md on branch et-001-add-a-greeting\):\n\n {2}# ET-001 · analysis\n/);
  // Run as `node <bin>` from a directory with no project: the hints print exactly that.
  assert.ok(show.stdout.split('\n').includes(`Approve: node ${BIN} task approve 1`), show.stdout);
  assert.ok(show.stdout.split('\n').includes(`Reject:  node ${BIN} task reject 1 --comment "what the analyst should change"`), show.stdout);

  const artefact = await task('artefact', '1', 'analysis');
  assert.equal(artefact.code, 0);
  assert.match(artefact.stdout, /^# docs\/pipeline\/ET-001\/01-analysis\.md\n\n# ET-001 · analysis/);

  const approve = await task('approve', '1');
  assert.deepEqual([approve.code, approve.stdout.trim()], [0, 'task 1 approved: it moved from analysis to architecture']);
  const again = await task('approve', '1');
  assert.equal(again.code, 4);
  assert.match(again.stderr, /^nothing happened: task 1 is not waiting for a verdict/);

  const logs = await task('logs', '1', '--stage', 'analysis');
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /^==> run 1: analyst at analysis, attempt 1, exit 0 \(\S+analysis-analyst-\S+\.log\)\n/);
  assert.doesNotMatch(logs.stdout, /at architecture/);

  const watched = await task('watch', '1');
  assert.equal(watched.code, 0, watched.stderr);
  assert.match(watched.stdout, /ET-001 done: Nothing: the task is done\.$/m);
  assert.match(watched.stdout, /deploy: deployer finished \(exit 0, \$\d+\.\d{4}\)$/m);

  const list = await task('list', '--limit', '1');
  const rows = list.stdout.trim().split('\n').map((l) => l.split(/\s+/).filter(Boolean).slice(0, 2));
  assert.deepEqual(rows, [['ID', 'ITEM'], ['1', 'ET-001']]);

  const unknown = await cli(['task', 'shwo', '1'], dir);
  assert.equal(unknown.code, 2);
  const named = /unknown sub-command "shwo"; one of: ([a-z-]+(?:, [a-z-]+)*) \(/.exec(unknown.stderr);
  assert.ok(named, unknown.stderr);
  for (const sub of ['create', 'list', 'show', 'watch', 'logs', 'artefact', 'stop', 'retry', 'approve', 'reject']) assert.ok(named[1]!.split(', ').includes(sub), `${sub} is named: ${named[1]}`);
  const top = await cli(['--help'], dir);
  const summary = /task \[command\] tasks on the running host \(`start`\): ([a-z-]+(?:, [a-z-]+)*)/.exec(top.stdout.replace(/\s+/g, ' '));
  assert.ok(summary, top.stdout);
  // Every sub-command, including those other modules add (`task deps`, `task budget`).
  for (const sub of ['create', 'list', 'show', 'watch', 'logs', 'artefact', 'stop', 'retry', 'approve', 'reject', 'budget', 'deps']) assert.ok(summary[1]!.split(', ').includes(sub), `${sub} is in the summary: ${summary[1]}`);
  const help = await cli(['task', '--help'], dir);
  for (const sub of ['create', 'list', 'show', 'watch', 'logs', 'artefact', 'stop', 'retry', 'approve', 'reject']) assert.match(help.stdout, new RegExp(`^  ${sub} `, 'm'), sub);

  host.kill('SIGINT');
  assert.equal(await exited, 0);
});

test('demo --json: stdout is one JSON line, progress and the simulated cost on stderr', { timeout: 120_000 }, async (t) => {
  const dir = tmp(t);
  const out = await cli(['demo', '--json'], dir, { TMPDIR: dir });
  assert.equal(out.code, 0, out.stderr);
  const lines = out.stdout.trim().split('\n');
  assert.equal(lines.length, 1, out.stdout);
  assert.equal((JSON.parse(lines[0]!) as { final_stage: string }).final_stage, 'done');
  assert.match(out.stderr, /cost summary[\s\S]*\(simulated: the demo's scripted agents call no model/);
  assert.deepEqual(fs.readdirSync(dir), [], 'the demo removed its directory');
});

test('the demo removes its temporary directory on Ctrl-C', { timeout: 60_000 }, async (t) => {
  const dir = tmp(t);
  const child = spawn(process.execPath, [BIN, 'demo'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: dir } });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  await eventually(() => /task ET-001 filed/.test(stdout), 30_000, 'the demo task filed');
  assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('conveyor-demo-')).length, 1);
  child.kill('SIGINT');
  assert.deepEqual(await exited, { code: 130, signal: null });
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('conveyor-demo-')), []);
});
