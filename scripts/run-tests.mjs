#!/usr/bin/env node
// Runs every compiled test file with node's test runner, under c8 for coverage.
// `npm test` builds first (tsc -b); this script only finds and runs tests.
//   node scripts/run-tests.mjs [dir …]   limit to packages (e.g. packages/core)
// CI=true → TAP on stdout (the coverage summary follows it).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
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
const cmd = fs.existsSync(c8)
  ? [c8, '--reporter=text-summary', '--exclude=**/test/**', '--exclude=**/testing/**', '--exclude=scripts/**', process.execPath, ...nodeArgs]
  : nodeArgs;
const res = spawnSync(process.execPath, cmd, { stdio: 'inherit', cwd: root, env: process.env });
process.exit(res.status ?? 1);
