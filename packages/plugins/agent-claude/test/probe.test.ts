import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { probeClaude, resolveCommand, type AgentClaudeConfig } from '../src/index.js';
import { fixturePath } from './fake-claude.js';

/** A fake `claude` printing what the real CLI 2.1.328 printed (fixtures) on stdout and stderr, then exiting with `exit`. */
function fakeCli(t: TestContext, out: { stdout?: string; stderr?: string; text?: string; exit: number }): { command: string; argvFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-probe-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const command = path.join(dir, 'claude');
  const argvFile = path.join(dir, 'argv.json');
  const read = (name?: string) => (name ? JSON.stringify(fs.readFileSync(fixturePath(name), 'utf8')) : '""');
  fs.writeFileSync(
    command,
    `#!${process.execPath}\nconst fs = require('node:fs');\nfs.writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), sandbox: process.env.IS_SANDBOX ?? null }));\n` +
      `process.stderr.write(${read(out.stderr)});\nprocess.stdout.write(${out.text !== undefined ? JSON.stringify(out.text) : read(out.stdout)}, () => process.exit(${out.exit}));\n`,
    { mode: 0o755 },
  );
  return { command, argvFile };
}

const config = (command: string, extra: Partial<AgentClaudeConfig> = {}): AgentClaudeConfig => ({
  command, permissionMode: 'acceptEdits', allowedTools: [], extraArgs: [], passEnv: [], logDir: '.conveyor/logs', ...extra,
});

test('doctor probe: a real one-line run with the job\'s flags, a 5-cent cap, outside any repo; an answer is ✓', { timeout: 10_000 }, async (t) => {
  const fake = fakeCli(t, { stdout: 'claude-result-tool-use-success.json', exit: 0 });
  const probe = await probeClaude(config(fake.command, { model: 'sonnet', permissionMode: 'manual' }));
  assert.equal(probe.ok, true, probe.detail);
  assert.match(probe.detail, /^answered a one-line prompt \(/);
  const rec = JSON.parse(fs.readFileSync(fake.argvFile, 'utf8')) as { argv: string[]; cwd: string };
  assert.deepEqual(rec.argv.slice(2), ['--output-format', 'json', '--max-turns', '1', '--max-budget-usd', '0.05', '--permission-mode', 'manual', '--model', 'sonnet']);
  assert.ok(!fs.existsSync(rec.cwd), 'the temp cwd is removed');
});

test('doctor probe: "Not logged in" (the real CLI\'s result, exit 1) is ✗ with how to log in', { timeout: 10_000 }, async (t) => {
  const probe = await probeClaude(config(fakeCli(t, { stdout: 'claude-result-not-logged-in.json', exit: 1 }).command));
  assert.equal(probe.ok, false);
  assert.equal(probe.detail, 'not logged in: Not logged in · Please run /login');
  assert.match(probe.fix!, /\/login.*ANTHROPIC_API_KEY/);
});

test('doctor probe: a refused flag (the real CLI\'s commander error) is ✗ naming it', { timeout: 10_000 }, async (t) => {
  const probe = await probeClaude(config(fakeCli(t, { stderr: 'claude-permission-mode-refused.stderr.txt', exit: 1 }).command, { permissionMode: 'default' }));
  assert.equal(probe.ok, false);
  assert.match(probe.detail, /^refused its arguments: error: option '--permission-mode <mode>' argument 'bogus' is invalid/);
  assert.match(probe.fix!, /permissionMode, model and extraArgs/);
});

test('doctor probe: bypassPermissions refused as root is ✗ with IS_SANDBOX; IS_SANDBOX reaches the CLI by default', { timeout: 10_000 }, async (t) => {
  const fake = fakeCli(t, { stderr: 'claude-root-bypass-refused.stderr.txt', exit: 1 });
  const before = process.env.IS_SANDBOX;
  process.env.IS_SANDBOX = '1';
  t.after(() => (before === undefined ? delete process.env.IS_SANDBOX : (process.env.IS_SANDBOX = before)));
  const probe = await probeClaude(config(fake.command, { permissionMode: 'bypassPermissions' }));
  assert.equal(probe.ok, false);
  assert.match(probe.detail, /^refuses bypassPermissions as root/);
  assert.match(probe.fix!, /IS_SANDBOX=1/);
  assert.equal((JSON.parse(fs.readFileSync(fake.argvFile, 'utf8')) as { sandbox: string }).sandbox, '1');
});

test('doctor probe: garbage output, a missing command and the probe\'s own cap', { timeout: 10_000 }, async (t) => {
  const garbage = await probeClaude(config(fakeCli(t, { text: 'Usage: something else entirely\n', exit: 0 }).command));
  assert.equal(garbage.ok, false);
  assert.equal(garbage.detail, 'printed no result JSON (exit 0): Usage: something else entirely');
  assert.match(garbage.fix!, /Claude Code/);
  const missing = await probeClaude(config('/nonexistent/claude'));
  assert.equal(missing.ok, false);
  assert.match(missing.detail, /could not be started/);
  const capped = await probeClaude(config(fakeCli(t, { stdout: 'claude-result-max-budget.json', exit: 1 }).command));
  assert.equal(capped.ok, true, 'reaching the model and stopping at the probe\'s cap is enough');
});

test('a relative command is from the config file\'s directory, a bare name stays for PATH', () => {
  assert.equal(resolveCommand('./bin/claude', '/etc/conveyor'), '/etc/conveyor/bin/claude');
  assert.equal(resolveCommand('tools/claude', '/etc/conveyor'), '/etc/conveyor/tools/claude');
  assert.equal(resolveCommand('claude', '/etc/conveyor'), 'claude');
  assert.equal(resolveCommand('/usr/bin/claude', '/etc/conveyor'), '/usr/bin/claude');
});
