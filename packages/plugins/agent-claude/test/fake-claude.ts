import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import type { AgentRunRequest, Task } from '@conveyor/core';

/** A fixture of this package (`test/fixtures`, copied byte for byte from what the real service sends), read from compiled tests. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url));
}

// CommonJS on purpose: the temp dir has no package.json, so node reads the script as CJS.
const SCRIPT = `
const fs = require('node:fs');
let stdin = '';
try { stdin = fs.readFileSync(0, 'utf8'); } catch {}
fs.writeFileSync(process.env.FAKE_RECORD, JSON.stringify({
  argv: process.argv.slice(2), cwd: process.cwd(), stdin, pid: process.pid, stage: process.env.CONVEYOR_STAGE ?? null, envKeys: Object.keys(process.env),
}));
const mode = process.env.FAKE_MODE ?? 'print';
if (mode === 'hang') setTimeout(() => {}, 60000);
else {
  process.stderr.write('fake claude: ' + mode + '\\n');
  const out = process.env.FAKE_OUTPUT ? fs.readFileSync(process.env.FAKE_OUTPUT, 'utf8') : (process.env.FAKE_TEXT ?? '');
  process.stdout.write(out, () => process.exit(Number(process.env.FAKE_EXIT ?? '0')));
}
`;

/** What the fake recorded about its invocation. */
export interface FakeRecord {
  argv: string[];
  cwd: string;
  stdin: string;
  pid: number;
  stage: string | null;
  /** Names of the variables the process saw. */
  envKeys: string[];
}

export interface FakeClaude {
  /** The executable, to configure as `command`. */
  command: string;
  /** A scratch directory for the test (worktree, logs). */
  dir: string;
  worktree: string;
  logDir: string;
  record(): FakeRecord;
  /** A request whose env tells the fake what to do. */
  request(fake: { output?: string; text?: string; exit?: number; mode?: 'print' | 'hang' }, overrides?: Partial<AgentRunRequest>): AgentRunRequest;
}

/** Writes an executable fake `claude` that records argv, cwd and stdin, then prints a fixture. */
export function fakeClaude(t: TestContext): FakeClaude {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-fake-claude-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const command = path.join(dir, 'claude');
  fs.writeFileSync(command, `#!${process.execPath}\n${SCRIPT}`, { mode: 0o755 });
  const worktree = path.join(dir, 'worktree');
  fs.mkdirSync(worktree);
  const recordFile = path.join(dir, 'record.json');
  return {
    command,
    dir,
    worktree,
    logDir: path.join(dir, 'logs'),
    record: () => JSON.parse(fs.readFileSync(recordFile, 'utf8')) as FakeRecord,
    request: (fake, overrides = {}) => ({
      task: testTask(),
      stage: 'development',
      role: 'developer',
      worktree,
      prompt: 'Implement the retry.',
      env: {
        CONVEYOR_STAGE: 'development',
        FAKE_RECORD: recordFile,
        FAKE_MODE: fake.mode ?? 'print',
        FAKE_EXIT: String(fake.exit ?? 0),
        ...(fake.output ? { FAKE_OUTPUT: fixturePath(fake.output) } : {}),
        ...(fake.text !== undefined ? { FAKE_TEXT: fake.text } : {}),
      },
      timeoutMs: 4_000,
      signal: new AbortController().signal,
      ...overrides,
    }),
  };
}

/** A task with only what the runner reads filled in meaningfully. */
export function testTask(workItemId = 'ET-42'): Task {
  const now = new Date(0);
  // Asserted, not declared: fields core adds later must not break this package's tests.
  return {
    id: 1, repo: 'acme/app', trackerIssueId: '42', workItemId, title: 'Add retry', description: '', stage: 'development',
    branch: 'agent/ET-42-add-retry', branchCut: true, humanVerdict: null, humanReviewStartedAt: null, humanReviewEndedAt: null,
    developerRetries: 0, createdAt: now, updatedAt: now, cancelRequestedAt: null, cancelledAt: null, trackerMessageId: null,
    blockedReason: null, blockedAt: null, blockedKind: null, budgetUsd: null, stageBudgets: {},
  } as Task;
}
