import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { cliCommand } from '../src/cli/invocation.js';

test('hints print a command that works from where the CLI was run', (t) => {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-invocation-'));
  t.after(() => fs.rmSync(project, { recursive: true, force: true }));
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-invocation-bare-'));
  t.after(() => fs.rmSync(bare, { recursive: true, force: true }));
  fs.mkdirSync(path.join(project, 'node_modules', '.bin'), { recursive: true });
  fs.writeFileSync(path.join(project, 'node_modules', '.bin', 'conveyor'), '');
  const script = path.join(project, 'node_modules', '@conveyor', 'host', 'bin', 'conveyor.js');

  assert.equal(cliCommand('/root/.npm/_npx/1a2b/node_modules/.bin/conveyor', bare), 'npx @conveyor/host', 'npx outside a project: the scoped package, never the unrelated `conveyor`');
  assert.equal(cliCommand(path.join(project, 'node_modules', '.bin', 'conveyor'), project), 'npx conveyor');
  assert.equal(cliCommand(script, project), 'npx conveyor', 'npm start in a project that links the bin');
  assert.equal(cliCommand(script, bare), `node ${script}`);
  assert.equal(cliCommand('/usr/local/bin/conveyor', bare), 'conveyor', 'a global install');
  assert.equal(cliCommand(undefined, bare), 'conveyor');
});
