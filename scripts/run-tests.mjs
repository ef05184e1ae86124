#!/usr/bin/env node
// Runs every compiled test file with node's test runner, under c8 for coverage.
// `npm test` builds first (tsc -b); this script only finds and runs tests.
//   node scripts/run-tests.mjs [dir …]   limit to packages (e.g. packages/core)
// CI=true → TAP on stdout (the coverage summary follows it).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const roots = args.length ? args.map((a) => path.resolve(root, a)) : [path.join(root, 'packages'), path.join(root, 'test'), path.join(root, 'examples')];

function find(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) find(p, out);
    else if (entry.name.endsWith('.test.js') && p.split(path.sep).includes('dist')) out.push(p);
  }
  return out;
}

const files = roots.flatMap((r) => find(r)).sort();
if (files.length === 0) {
  console.error('no compiled tests found: run `tsc -b` first');
  process.exit(1);
}

const ci = process.env.CI === 'true' || process.env.CI === '1';
const reporter = ci ? ['--test-reporter=tap'] : ['--test-reporter=spec'];
const c8 = path.join(root, 'node_modules', 'c8', 'bin', 'c8.js');
const nodeArgs = ['--test', ...reporter, ...files];
// c8 keeps its raw data outside the checkout: a test run leaves nothing in the working tree.
const c8Temp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-c8-'));
const cmd = fs.existsSync(c8)
  ? [c8, '--reporter=text-summary', `--temp-directory=${c8Temp}`, `--report-dir=${c8Temp}`, '--exclude=**/test/**', '--exclude=**/testing/**', '--exclude=scripts/**', process.execPath, ...nodeArgs]
  : nodeArgs;
// Tests keep their state in temp dirs: anything new in the checkout after the run
// (a database, logs, a workspace) is a leak and fails the run.
function strayFiles() {
  const res = spawnSync('git', ['status', '--porcelain', '--ignored', '--untracked-files=normal'], { cwd: root, encoding: 'utf8' });
  if (res.status !== 0) return null;
  return new Set(
    res.stdout
      .split('\n')
      .filter((l) => l.startsWith('?? ') || l.startsWith('!! '))
      .map((l) => l.slice(3))
      .filter((f) => !/(^|\/)(node_modules|dist)\/$/.test(f) && !f.endsWith('.tsbuildinfo')),
  );
}
const before = strayFiles();
const res = spawnSync(process.execPath, cmd, { stdio: 'inherit', cwd: root, env: process.env });
fs.rmSync(c8Temp, { recursive: true, force: true });
const after = strayFiles();
const leaked = before && after ? [...after].filter((f) => !before.has(f)) : [];
if (leaked.length) {
  console.error(`the tests left files in the checkout: ${leaked.join(', ')}`);
  process.exit(1);
}
process.exit(res.status ?? 1);
