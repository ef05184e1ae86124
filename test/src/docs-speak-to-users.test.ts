import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** What only the people who wrote the code can follow: the spec's section numbers, the tracker's issue numbers, a path on their machine. */
const INSIDER = [
  { what: 'a specification section', re: /§|\bspec(ification)? ?0\d\b|\bthe (product )?spec\b/i },
  { what: 'an issue number', re: /\(issue \d+\)|\bissue #\d+|\blater issues?\b/i },
  { what: 'a path outside the repository', re: /\/work\/|\.\.\/shared\b|beside the repository/ },
];

// Users read the READMEs, docs/ and the examples; the changelog is history and keeps its words.
test('docs and READMEs speak to users: no spec sections, issue numbers or paths outside the repository', () => {
  const listed = spawnSync('git', ['ls-files', '-z', '--', '*.md'], { cwd: root, encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  const files = listed.stdout.split('\0').filter((f) => f && (f.startsWith('docs/') || f.startsWith('examples/') || path.basename(f) === 'README.md'));
  assert.ok(files.length > 10, `expected the repository's docs, found ${files.length}`);
  const found: string[] = [];
  for (const f of files) {
    fs.readFileSync(path.join(root, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const { what, re } of INSIDER) if (re.test(line)) found.push(`${f}:${i + 1}: ${what}: ${line.trim()}`);
      });
  }
  assert.deepEqual(found, []);
});
