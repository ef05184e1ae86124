import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chooseLogFormat, logDestination } from '../src/cli/log-format.js';
import { createServerLogger } from '../src/server/index.js';

const BIN = fileURLToPath(new URL('../../bin/conveyor.js', import.meta.url));

test('log format: pretty on a terminal, JSON when piped, --log-format wins, anything else is refused', () => {
  assert.equal(chooseLogFormat(undefined, true), 'pretty');
  assert.equal(chooseLogFormat(undefined, false), 'json');
  assert.equal(chooseLogFormat('json', true), 'json');
  assert.equal(chooseLogFormat('pretty', false), 'pretty');
  assert.throws(() => chooseLogFormat('yaml', true), /--log-format must be one of pretty, json, got "yaml"/);
});

test('pretty lines are for people (time, level, message, fields) and keep the redaction', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => void (text += d.toString()));
  const logger = createServerLogger({ name: 'conveyor' }, logDestination('pretty', { into: out }));
  logger.info({ taskId: 7, headers: { authorization: 'Bearer secret-token-123456' } }, 'task created');
  logger.warn('budget spent');
  await new Promise((r) => setImmediate(r));
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: task created \{"taskId":7,"headers":\{"authorization":"\[redacted\]"\}\}$/);
  assert.match(lines[1]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: budget spent$/);
  assert.doesNotMatch(text, /secret-token/);
});

for (const format of ['pretty', 'json'] as const) {
  test(`\`conveyor start --log-format ${format}\` writes ${format === 'json' ? 'JSON lines' : 'human lines'} to stdout`, { timeout: 60_000 }, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-logfmt-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--log-format', format], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let stdout = '';
    const firstLines = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line: ${stdout}`)), 50_000);
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const lines = stdout.split('\n').filter(Boolean);
        if (lines.length >= 2) {
          clearTimeout(timer);
          resolve(lines);
        }
      });
    });
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
    if (format === 'json') for (const l of firstLines) assert.equal(typeof (JSON.parse(l) as { level: number }).level, 'number', l);
    else for (const l of firstLines) assert.match(l, /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|DEBUG): /, l);
  });
}
