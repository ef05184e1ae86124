import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from '@conveyor/core/testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(root, 'packages/host/bin/conveyor.js');

function tmp(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-stop-start-'));
  t.after(() => {
    spawnSync('chmod', ['-R', 'u+rwX', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function writeConfig(dir: string, extra = ''): string {
  const file = path.join(dir, 'conveyor.config.yaml');
  fs.writeFileSync(
    file,
    [
      `instance: { dataDir: ${JSON.stringify(path.join(dir, 'data'))} }`,
      `database: { client: sqlite, filename: ${JSON.stringify(path.join(dir, 'data', 'conveyor.db'))} }`,
      `workspaces: { root: ${JSON.stringify(path.join(dir, 'data', 'workspaces'))} }`,
      'host: { address: 127.0.0.1, port: 0, shutdownGraceMs: 2000 }',
      'plugins:',
      '  agent-claude: { enabled: false }',
      extra,
    ].join('\n'),
  );
  return file;
}

/** Runs the CLI to its end; `asNobody` drops root (permission bits do not bind root). */
function cli(args: string[], cwd: string, options: { asNobody?: boolean; env?: Record<string, string> } = {}): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const drop = options.asNobody && process.getuid?.() === 0;
  // `env -u`: node hands NODE_V8_COVERAGE (c8's directory, not writable by nobody) to
  // every child it spawns, even when the child's env leaves it out.
  const [cmd, argv] = drop ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', '-u', 'NODE_V8_COVERAGE', process.execPath, BIN, ...args]] : [process.execPath, [BIN, ...args]];
  const child = spawn(cmd as string, argv as string[], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: cwd, ...options.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/**
 * Why the read-only test cannot run here, or false: as root it drops to nobody, which
 * needs setpriv and a checkout nobody can read (a clone inside a 0700 directory is not).
 */
function cannotDropRoot(): string | false {
  if (process.getuid?.() !== 0) return false;
  if (spawnSync('setpriv', ['--version']).status !== 0) return 'running as root without setpriv';
  const readable = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', BIN]).status === 0;
  return readable ? false : `the checkout is not readable by nobody (a parent directory is private): ${BIN}`;
}

test('Ctrl-C while a git command runs stops the host gracefully (exit 0), not with the signal', { timeout: 60_000 }, async (t) => {
  const dir = tmp(t);
  const marker = path.join(dir, 'ssh-started');
  // A git remote that answers nothing: the clone hangs in git (and its ssh) until Ctrl-C.
  const ssh = path.join(dir, 'slow-ssh');
  fs.writeFileSync(ssh, `#!/bin/sh\ntouch "${marker}"\nexec sleep 60\n`, { mode: 0o755 });
  const config = writeConfig(dir, [`  tracker-local: { defaultRepo: slow }`, '  forge-git: { enabled: false }', "  agent-script: { defaultCommand: 'true' }", 'repos: { slow: { url: "ssh://git.invalid/slow.git" } }'].join('\n'));
  // Its own process group, as a terminal's foreground job: Ctrl-C reaches the host, git and ssh alike.
  const host = spawn(process.execPath, [BIN, 'start', '--config', config], { cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GIT_SSH_COMMAND: ssh, CONVEYOR_LOG_LEVEL: 'warn' } });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => host.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    try {
      process.kill(-host.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let stderr = '';
  host.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await eventually(() => /listening on (http:\/\/\S+)/.exec(stderr)?.[1], 30_000, 'the host listening');
  const token = fs.readFileSync(path.join(dir, 'data', 'token'), 'utf8').trim();
  const res = await fetch(`${url}/tasks`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Add a greeting' }) });
  assert.equal(res.status, 201);
  await eventually(() => fs.existsSync(marker), 30_000, 'git running (its ssh started)');
  process.kill(-host.pid!, 'SIGINT');
  assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
  assert.match(stderr, /conveyor stopped/);
});

test('a busy port fails before migrations and the worker start, with a hint', { timeout: 30_000 }, async (t) => {
  const dir = tmp(t);
  const config = writeConfig(dir);
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => busy.close(() => r())));
  const port = (busy.address() as net.AddressInfo).port;
  const out = await cli(['start', '--config', config, '--port', String(port)], dir);
  assert.equal(out.code, 1);
  assert.equal(out.stderr.trim(), `conveyor: port ${port} on 127.0.0.1 is in use: another Conveyor host may already be running there (\`node ${BIN} task list\` talks to it), or pick a free port with --port <n> or host.port`);
  assert.equal(fs.existsSync(path.join(dir, 'data', 'conveyor.db')), false, 'no migration ran');
});

test('a read-only data directory or database: one line naming the path, no stack, no advice about other tools', { timeout: 60_000, skip: cannotDropRoot() }, async (t) => {
  const dir = tmp(t);
  fs.chmodSync(dir, 0o755);
  const config = writeConfig(dir);
  const data = path.join(dir, 'data');
  fs.mkdirSync(data, { mode: 0o555 });
  fs.chmodSync(data, 0o555);
  fs.chmodSync(config, 0o644);
  const fresh = await cli(['start', '--config', config], dir, { asNobody: true });
  assert.equal(fresh.code, 1);
  assert.equal(fresh.stderr.trim().split('\n').length, 1, fresh.stderr);
  // Either the token file refused, or the data directory that cannot be made private.
  assert.match(fresh.stderr, new RegExp(`^conveyor: cannot \\w+ ${data}(/\\S+: permission denied| from 0555 to 0500 \\(EPERM)`));

  // A database made by another user (or restored read-only): the database file is named.
  fs.chmodSync(data, 0o755);
  assert.equal((await cli(['migrate', '--config', config], dir)).code, 0);
  fs.chmodSync(path.join(data, 'conveyor.db'), 0o444);
  // The data directory is the user's own (Conveyor keeps it 0700); only the file is not.
  if (process.getuid?.() === 0) fs.chownSync(data, 65534, 65534);
  fs.chmodSync(data, 0o700);
  const readOnly = await cli(['start', '--config', config], dir, { asNobody: true, env: { CONVEYOR_HOST_TOKEN: 'x'.repeat(32) } });
  assert.equal(readOnly.code, 1);
  assert.equal(readOnly.stderr.trim().split('\n').length, 1, readOnly.stderr);
  // Either the writability check, or the narrowing of a file another user owns: both name the file.
  const db = path.join(data, 'conveyor.db');
  assert.match(readOnly.stderr, new RegExp(`^conveyor: cannot (open the SQLite database ${db}: .* is not writable by this user|narrow ${db} from 0444 to 0400 \\(EPERM)`));
  assert.doesNotMatch(readOnly.stderr + fresh.stderr, /knex|migrate:unlock|\n\s+at /);
});
