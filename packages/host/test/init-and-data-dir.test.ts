import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cli, startHost, tmpDir } from './spawn-cli.js';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd, encoding: 'utf8' });
}

/** A repository of the user's own: one commit on `trunk`, a package with a test script, a subdirectory. */
function userRepo(t: Parameters<typeof tmpDir>[0]): string {
  const repo = path.join(tmpDir(t, 'conveyor-init-'), 'my app');
  fs.mkdirSync(path.join(repo, 'src', 'deep'), { recursive: true });
  git(repo, 'init', '--quiet', '--initial-branch', 'trunk');
  fs.writeFileSync(path.join(repo, 'package.json'), '{ "name": "my-app", "private": true, "type": "module", "scripts": { "test": "node --test" } }\n');
  fs.writeFileSync(path.join(repo, 'src', 'deep', 'keep.txt'), 'x\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'start');
  return repo;
}

type Effective = { instance: { dataDir: string }; database: { filename: string }; workspaces: { root: string }; repos: Record<string, { url: string; mainBranch: string; testCommand?: string }>; plugins: Record<string, { logDir?: string; enabled: boolean }> };

test('`conveyor init` in a git repository writes a config the CLI finds from any subdirectory; `start -p 0` then `task create` and `task list` find the host through the data dir', { timeout: 90_000 }, async (t) => {
  const repo = userRepo(t);
  const deep = path.join(repo, 'src', 'deep');
  const init = cli(deep, 'init');
  assert.equal(init.status, 0, init.stderr);
  const file = path.join(repo, 'conveyor.config.yaml');
  assert.match(init.stdout, new RegExp(`wrote ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(repo "my-app", main branch trunk, the demo agents\\)`));
  assert.match(fs.readFileSync(file, 'utf8'), /^# Conveyor for this repository/);
  // The data dir ignores itself: the user's tree shows only the new config.
  assert.equal(git(repo, 'status', '--porcelain'), '?? conveyor.config.yaml\n');

  const check = cli(deep, 'config', 'check', '--json');
  assert.equal(check.status, 0, check.stderr);
  const c = JSON.parse(check.stdout) as Effective;
  const data = path.join(repo, '.conveyor');
  assert.equal(c.instance.dataDir, data);
  assert.equal(c.database.filename, path.join(data, 'conveyor.db'));
  assert.equal(c.workspaces.root, path.join(data, 'workspaces'));
  assert.deepEqual(c.repos['my-app'], { url: path.join(data, 'origin', 'my-app.git'), mainBranch: 'trunk', testCommand: 'npm test', protectedBranches: [] });
  assert.equal(c.plugins['forge-git']!.logDir, path.join(data, 'logs'));
  assert.equal(c.plugins['agent-script']!.logDir, path.join(data, 'logs'));
  assert.equal(c.plugins['agent-claude']!.logDir, path.join(data, 'logs'));
  assert.equal(git(path.join(data, 'origin', 'my-app.git'), 'log', '--format=%s', 'trunk'), 'start\n', 'the bare copy holds the repository');

  const host = await startHost(t, deep, '--port', '0');
  const recorded = JSON.parse(fs.readFileSync(path.join(data, 'host.json'), 'utf8')) as { url: string; pid: number };
  assert.equal(recorded.url, host.url);
  // No --url and no port: both come from <dataDir>/host.json, the token from <dataDir>/token.
  const created = cli(path.join(repo, 'src'), 'task', 'create', '--title', 'Add a greeting');
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stdout, /created task 1: ET-001 on branch et-001-add-a-greeting \(my-app\)/);
  const list = cli(repo, 'task', 'list');
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /ET-001\s+\S+\s+Add a greeting/);
  assert.equal(await host.stop(), 0, host.stderr());

  assert.ok(!fs.existsSync(path.join(data, 'host.json')), 'a stopped host leaves no address behind');
  for (const piece of ['conveyor.db', 'token', 'workspaces']) assert.ok(fs.existsSync(path.join(data, piece)), piece);
  assert.equal(git(repo, 'status', '--porcelain'), '?? conveyor.config.yaml\n', 'all state stayed in the data dir');
  const after = cli(repo, 'task', 'list');
  assert.equal(after.status, 1);
  assert.ok(after.stderr.includes(`cannot reach the Conveyor host at http://127.0.0.1:3700 (from host.address and host.port of ${file}; no running host recorded in ${path.join(data, 'host.json')})`), after.stderr);
});

test('`conveyor init` refuses, naming the path and writing nothing: outside a repository, before the first commit, over an existing config, with an unknown agent', async (t) => {
  const outside = tmpDir(t, 'conveyor-init-outside-');
  const none = cli(outside, 'init');
  assert.equal(none.status, 2);
  assert.match(none.stderr, new RegExp(`conveyor init: ${outside.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not inside a git working tree`));
  assert.deepEqual(fs.readdirSync(outside), []);

  const empty = path.join(outside, 'empty');
  fs.mkdirSync(empty);
  git(empty, 'init', '--quiet');
  const fresh = cli(empty, 'init');
  assert.equal(fresh.status, 2);
  assert.match(fresh.stderr, /has no commit yet: Conveyor branches from one, so commit something first/);
  assert.deepEqual(fs.readdirSync(empty), ['.git']);

  const repo = userRepo(t);
  assert.equal(cli(repo, 'init', '--agent', 'gpt').status, 2);
  assert.ok(!fs.existsSync(path.join(repo, 'conveyor.config.yaml')) && !fs.existsSync(path.join(repo, '.conveyor')));
  assert.equal(cli(repo, 'init', '--agent', 'claude').status, 0);
  const again = cli(path.join(repo, 'src'), 'init');
  assert.equal(again.status, 2);
  assert.ok(again.stderr.includes(`${path.join(repo, 'conveyor.config.yaml')} already exists; edit it, or pass --force`), again.stderr);
  const c = JSON.parse(cli(repo, 'config', 'check', '--json').stdout) as Effective;
  assert.equal(c.plugins['agent-claude']!.enabled, true);
  assert.equal(c.plugins['agent-script']!.enabled, false);
});

test('`conveyor init --use-origin` works on the repository\'s own remote', async (t) => {
  const repo = userRepo(t);
  const remote = path.join(path.dirname(repo), 'remote.git');
  git(path.dirname(repo), 'init', '--quiet', '--bare', remote);
  git(repo, 'remote', 'add', 'origin', remote);
  assert.equal(cli(repo, 'init', '--use-origin').status, 0);
  const c = JSON.parse(cli(repo, 'config', 'check', '--json').stdout) as Effective;
  assert.equal(c.repos['my-app']!.url, remote);
  assert.ok(!fs.existsSync(path.join(repo, '.conveyor', 'origin')), 'no bare copy');
});

test('paths in a config file resolve against its directory and `instance.dataDir` moves all local state unless a key says otherwise', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'conveyor-datadir-');
  const conf = path.join(dir, 'conf');
  const elsewhere = path.join(dir, 'elsewhere');
  fs.mkdirSync(conf);
  fs.mkdirSync(elsewhere);
  fs.writeFileSync(
    path.join(conf, 'conveyor.config.yaml'),
    [
      'instance:',
      '  dataDir: ../state',
      'database:',
      '  filename: db/here.sqlite3       # a key that says otherwise',
      'repos:',
      '  app:',
      '    url: ../origin/app.git',
      '  remote:',
      '    url: https://git.example.com/acme/remote.git',
      'plugins:',
      '  agent-script:',
      '    defaultCommand: "true"',
      '',
    ].join('\n'),
  );
  const check = cli(elsewhere, 'config', 'check', '--json', '--config', '../conf/conveyor.config.yaml');
  assert.equal(check.status, 0, check.stderr);
  const c = JSON.parse(check.stdout) as Effective;
  assert.equal(c.instance.dataDir, path.join(dir, 'state'));
  assert.equal(c.database.filename, path.join(conf, 'db', 'here.sqlite3'));
  assert.equal(c.workspaces.root, path.join(dir, 'state', 'workspaces'));
  assert.equal(c.repos.app!.url, path.join(dir, 'origin', 'app.git'));
  assert.equal(c.repos.remote!.url, 'https://git.example.com/acme/remote.git');
  assert.equal(c.plugins['agent-script']!.logDir, path.join(dir, 'state', 'logs'));

  fs.mkdirSync(path.join(conf, 'db'));
  const migrate = cli(elsewhere, 'migrate', '--config', '../conf/conveyor.config.yaml');
  assert.equal(migrate.status, 0, migrate.stderr);
  assert.ok(fs.existsSync(path.join(conf, 'db', 'here.sqlite3')));
  assert.deepEqual(fs.readdirSync(elsewhere), [], 'nothing lands in the working directory');

  const missing = cli(elsewhere, 'config', 'check', '--config', 'nope.yaml');
  assert.equal(missing.status, 2);
  assert.ok(missing.stderr.includes(`config file ${path.join(elsewhere, 'nope.yaml')} does not exist`), missing.stderr);
});
