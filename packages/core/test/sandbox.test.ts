import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AgentSandbox, parseBind, probeBubblewrap } from '../src/sandbox/agent-sandbox.js';
import { bubblewrapArgs, findBwrap } from '../src/sandbox/bubblewrap.js';
import { runProcess } from '../src/util/process-group.js';
import { eventually, RecordingLogger } from '../src/testing/index.js';

const bwrap = findBwrap();
const broken = bwrap ? ((await probeBubblewrap(bwrap)).ok ? null : 'bwrap cannot create a sandbox here') : 'bwrap is not installed';
if (broken) process.stderr.write(`\n*** ${broken}: the bubblewrap sandbox tests are SKIPPED (install bubblewrap) ***\n\n`);
const skip = broken ? `SKIPPED: ${broken}` : false;

test('`bubblewrap` without a working bwrap refuses to start, with the fix in the message', async () => {
  const sb = new AgentSandbox({ mode: 'bubblewrap', bind: [], hidden: [], logger: new RecordingLogger(), bwrap: null });
  await assert.rejects(sb.resolve(), (err: Error & { code?: string }) => err.code === 'CONVEYOR_SANDBOX' && /apt-get install bubblewrap/.test(err.message));
});

test('`auto` without bwrap runs agents unsandboxed and warns once; `none` never probes', async () => {
  const logger = new RecordingLogger();
  const sb = new AgentSandbox({ mode: 'auto', bind: [], hidden: [], logger, bwrap: null });
  assert.equal((await sb.resolve()).kind, 'none');
  await sb.resolve();
  assert.equal(sb.forRun({ cwd: '/x', readWrite: [], readOnly: [] }), undefined);
  assert.equal(logger.lines.filter((l) => l.level === 'warn').length, 1);
  const off = new AgentSandbox({ mode: 'none', bind: [], hidden: [], logger, bwrap: '/nonexistent/bwrap' });
  assert.deepEqual(await off.resolve(), { kind: 'none', detail: 'off (workspaces.sandbox: none)' });
  assert.equal(logger.lines.filter((l) => l.level === 'warn').length, 1);
});

test('sandboxBind entries: read-write unless `:ro`, `~/` is the home directory', () => {
  assert.deepEqual(parseBind('~/.claude'), { path: path.join(os.homedir(), '.claude'), readOnly: false });
  assert.deepEqual(parseBind('/opt/tools:ro'), { path: '/opt/tools', readOnly: true });
});

test('under bubblewrap an agent sees its worktree, the read-only objects and its binds, and nothing of the data directory, other worktrees or the host\'s processes', { skip }, async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-sandbox-'));
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const d = (p: string) => {
    fs.mkdirSync(path.join(base, p), { recursive: true });
    return path.join(base, p);
  };
  const dataDir = d('data');
  fs.writeFileSync(path.join(dataDir, 'token'), 'the-api-token');
  const root = d('data/workspaces');
  const worktree = d('data/workspaces/worktrees/r/et-001');
  const other = d('data/workspaces/worktrees/r/et-002');
  fs.writeFileSync(path.join(other, 'secret'), 'other');
  const objects = d('data/workspaces/mirrors/r.git/objects');
  fs.writeFileSync(path.join(objects, 'obj'), 'object');
  const bound = d('claude-home');
  const tools = d('tools');
  fs.writeFileSync(path.join(tools, 'tool.sh'), 'echo tool ran\n');
  const sb = new AgentSandbox({ mode: 'bubblewrap', bind: [bound, `${tools}:ro`], hidden: [dataDir, root], logger: new RecordingLogger() });
  // PATH directories are shown read-only; one under /tmp (a checkout there, its
  // node_modules/.bin on npm's PATH) leaves its mount point in the agent's /tmp.
  const tmp = fs.realpathSync(os.tmpdir());
  const tmpMounts = [...new Set([path.basename(base), ...(process.env.PATH ?? '').split(':').filter((p) => p.startsWith(tmp + '/')).map((p) => p.slice(tmp.length + 1).split('/')[0]!)])];
  const homeTools = [...new Set((process.env.PATH ?? '').split(':').filter((p) => p.startsWith(os.homedir() + '/')).map((p) => p.slice(os.homedir().length + 1).split('/')[0]!))];
  assert.equal((await sb.resolve()).kind, 'bubblewrap');
  const run = sb.forRun({ cwd: worktree, readWrite: [worktree], readOnly: [objects] })!;
  const script = [
    'probe() { if eval "$2" >/dev/null 2>&1; then echo "$1=yes"; else echo "$1=no"; fi; }',
    'probe write-worktree "echo x > ./made-inside"',
    `probe read-objects "cat ${objects}/obj"`,
    `probe write-objects "touch ${objects}/new"`,
    `probe read-token "cat ${dataDir}/token"`,
    `probe read-other "cat ${other}/secret"`,
    `probe write-bind "touch ${bound}/session"`,
    `probe run-ro-tool "sh ${tools}/tool.sh"`,
    `probe write-ro-tool "touch ${tools}/x"`,
    `probe host-pid-1 "cat /proc/1/environ | grep -q PATH= && test -d /proc/${process.pid}"`,
    // /tmp holds only what the agent made and the mount points of its own paths.
    `probe tmp-private "touch /tmp/mine && ! ls /tmp | grep -qvx -e mine ${tmpMounts.map((m) => `-e '${m}'`).join(' ')}"`,
    // HOME is empty but for the mount points of tools on PATH installed under it.
    `probe home-empty "! ls -A $HOME | grep -qv ${homeTools.map((d) => `-e '^${d}$'`).join(' ') || "-e '^$'"}"`,
  ].join('\n');
  const inv = run.wrap({ command: script, args: [], shell: true });
  const res = await runProcess({ command: inv.command, args: inv.args, shell: inv.shell, cwd: worktree, timeoutMs: 20_000 });
  const seen = Object.fromEntries(res.stdout.trim().split('\n').map((l) => l.split('=') as [string, string]));
  assert.deepEqual(seen, {
    'write-worktree': 'yes',
    'read-objects': 'yes',
    'write-objects': 'no',
    'read-token': 'no',
    'read-other': 'no',
    'write-bind': 'yes',
    'run-ro-tool': 'yes',
    'write-ro-tool': 'no',
    'host-pid-1': 'no',
    'tmp-private': 'yes',
    'home-empty': 'yes',
  }, res.stderr);
  assert.ok(fs.existsSync(path.join(worktree, 'made-inside')));
  assert.ok(fs.existsSync(path.join(bound, 'session')));
});

test('a timeout kills everything the sandboxed agent started', { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-sandbox-kill-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sb = new AgentSandbox({ mode: 'bubblewrap', bind: [], hidden: [], logger: new RecordingLogger() });
  await sb.resolve();
  const marker = `${Date.now() % 100_000 + 900_000}`;
  const inv = sb.forRun({ cwd: dir, readWrite: [dir], readOnly: [] })!.wrap({ command: `setsid sleep ${marker} & sleep ${marker}`, args: [], shell: true });
  const res = await runProcess({ command: inv.command, args: inv.args, shell: inv.shell, cwd: dir, timeoutMs: 500, killGraceMs: 200 });
  assert.equal(res.timedOut, true);
  const alive = () =>
    fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`sleep\0${marker}`);
      } catch {
        return false;
      }
    });
  await eventually(() => !alive(), 5_000, 'no sandboxed process left');
});

test('bwrap arguments: a PATH directory under HOME stays visible over the empty HOME (not its prefix), a home never is shown whole, hidden paths are emptied before the worktree is bound', () => {
  const home = '/home/conveyor';
  const args = bubblewrapArgs(
    { cwd: '/srv/data/workspaces/worktrees/r/b', readWrite: ['/home/conveyor/.claude'], readOnly: ['/srv/data/workspaces/mirrors/r.git/objects'], hidden: ['/srv/data'], home },
    { PATH: `${home}/.nvm/versions/node/v20/bin:${home}/bin:/usr/bin:relative/bin:/srv/data/bin` },
  );
  const at = (...xs: string[]) => {
    const i = args.findIndex((_, k) => xs.every((x, j) => args[k + j] === x));
    assert.ok(i >= 0, `${xs.join(' ')} in ${args.join(' ')}`);
    return i;
  };
  assert.ok(at('--tmpfs', home) < at('--ro-bind-try', `${home}/.nvm/versions/node/v20/bin`, `${home}/.nvm/versions/node/v20/bin`), 'under HOME: the directory itself, not its prefix');
  assert.ok(!args.includes(`${home}/.nvm/versions/node/v20`));
  at('--ro-bind-try', `${home}/bin`, `${home}/bin`);
  assert.ok(!args.includes('relative/bin'));
  assert.equal(args.filter((a) => a === home).length, 1, 'HOME itself is only the empty tmpfs');
  assert.ok(at('--ro-bind-try', '/srv/data', '/srv/data') < at('--tmpfs', '/srv/data'), 'a PATH entry inside the data directory is emptied again');
  assert.ok(at('--tmpfs', '/srv/data') < at('--ro-bind-try', '/srv/data/workspaces/mirrors/r.git/objects'));
  assert.ok(at('--tmpfs', '/srv/data') < at('--bind', '/srv/data/workspaces/worktrees/r/b'));
  at('--bind-try', `${home}/.claude`, `${home}/.claude`);
  assert.deepEqual(args.slice(-2), ['--chdir', '/srv/data/workspaces/worktrees/r/b']);
});
