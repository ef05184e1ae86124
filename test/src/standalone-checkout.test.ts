import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const self = path.relative(root, fileURLToPath(import.meta.url)).replace(/^test\/dist\/src\//, 'test/src/').replace(/\.js$/, '.ts');

// A clone with nothing beside it must build, test and run: no code or test may read
// a directory next to the checkout (the fixtures live in the packages that use them).
test('no source, test or script reaches outside the checkout for fixtures or data', () => {
  const listed = spawnSync('git', ['ls-files', '-z', '--', 'packages', 'test', 'examples', 'scripts'], { cwd: root, encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  const code = listed.stdout.split('\0').filter((f) => /\.(ts|mts|js|mjs|cjs)$/.test(f) && f !== self);
  assert.ok(code.length > 100, `expected the repository's sources, found ${code.length} files`);
  const outside = /\.\.\/shared\b|\/work\/shared\b/;
  const offenders = code.filter((f) => outside.test(fs.readFileSync(path.join(root, f), 'utf8')));
  assert.deepEqual(offenders, []);
});

test('every fixture a test names exists inside the repository', () => {
  const dirs = ['packages/core/test/fixtures', 'packages/plugins/forge-gitea/test/fixtures', 'packages/plugins/agent-claude/test/fixtures', 'packages/plugins/tracker-plane/fixtures'];
  for (const d of dirs) {
    const files = fs.readdirSync(path.join(root, d)).filter((f) => f.endsWith('.json') || f.endsWith('.ndjson'));
    assert.ok(files.length > 0, `${d} holds fixtures`);
    for (const f of files) assert.doesNotThrow(() => (f.endsWith('.ndjson') ? f : JSON.parse(fs.readFileSync(path.join(root, d, f), 'utf8'))), `${d}/${f} is valid JSON`);
  }
});
