import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { bearerToken, createServerLogger, createTokenMatcher, ensureLocalToken, TOKEN_FILE } from '../src/server/index.js';
import { memoryLog } from './helpers.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-host-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

test('bearerToken reads "Bearer <token>" with any scheme case and nothing else', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer   abc  '), 'abc');
  assert.equal(bearerToken(['Bearer first', 'Bearer second']), 'first');
  for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'Bearerabc']) assert.equal(bearerToken(h), null, String(h));
});

test('the token matcher accepts only the exact token, whatever the length of the guess', () => {
  const matches = createTokenMatcher('0123456789abcdef0123');
  assert.equal(matches('0123456789abcdef0123'), true);
  for (const guess of ['', '0', '0123456789abcdef012', '0123456789abcdef01234', '0123456789abcdef0124', 'x'.repeat(1000)]) assert.equal(matches(guess), false, guess);
});

test('ensureLocalToken creates <dataDir>/token with mode 0600 (and the directory) and returns the same token twice', { skip: process.platform === 'win32' }, (t) => {
  const dataDir = path.join(tempDir(t), 'nested', '.conveyor');
  const first = ensureLocalToken(dataDir);
  assert.match(first, /^[0-9a-f]{64}$/);
  const file = path.join(dataDir, TOKEN_FILE);
  assert.equal(modeOf(file), 0o600);
  assert.equal(fs.readFileSync(file, 'utf8').trim(), first);
  assert.equal(ensureLocalToken(dataDir), first);
  assert.equal(modeOf(file), 0o600);
});

test('ensureLocalToken tightens a token file whose mode was loosened', { skip: process.platform === 'win32' }, (t) => {
  const dataDir = tempDir(t);
  const token = ensureLocalToken(dataDir);
  const file = path.join(dataDir, TOKEN_FILE);
  fs.chmodSync(file, 0o644);
  assert.equal(ensureLocalToken(dataDir), token);
  assert.equal(modeOf(file), 0o600);
});

test('ensureLocalToken narrows an older data directory (0755) and token file (0644) to their owner, with one warning', { skip: process.platform === 'win32' }, (t) => {
  const dataDir = path.join(tempDir(t), 'data');
  const token = ensureLocalToken(dataDir);
  assert.equal(modeOf(dataDir), 0o700, 'created 0700');
  const file = path.join(dataDir, TOKEN_FILE);
  fs.chmodSync(dataDir, 0o755);
  fs.chmodSync(file, 0o644);
  const warnings: { obj: object; msg: string | undefined }[] = [];
  const logger = { warn: (obj: object, msg?: string) => void warnings.push({ obj, msg }) };
  assert.equal(ensureLocalToken(dataDir, { logger }), token);
  assert.deepEqual([modeOf(dataDir), modeOf(file)], [0o700, 0o600]);
  assert.equal(warnings.length, 1);
  assert.deepEqual(warnings[0]!.obj, { tightened: [{ path: dataDir, from: '0755', to: '0700' }, { path: file, from: '0644', to: '0600' }] });
  assert.match(warnings[0]!.msg!, /other local users could read the API token$/);
  ensureLocalToken(dataDir, { logger });
  assert.equal(warnings.length, 1, 'nothing more to say once narrowed');
});

test('ensureLocalToken keeps a token someone wrote, and refuses an empty or short one with what to do', (t) => {
  const dataDir = tempDir(t);
  const file = path.join(dataDir, TOKEN_FILE);
  fs.writeFileSync(file, 'my-own-token-of-enough-length\n', { mode: 0o600 });
  assert.equal(ensureLocalToken(dataDir), 'my-own-token-of-enough-length');
  fs.writeFileSync(file, 'short');
  assert.throws(() => ensureLocalToken(dataDir), /does not hold a usable token .* delete it and start again/);
});

test('two starts racing for the token file end with one token', { skip: process.platform === 'win32' }, async (t) => {
  const dataDir = tempDir(t);
  const { spawn } = await import('node:child_process');
  const moduleUrl = new URL('../src/server/local-token.js', import.meta.url).href;
  const script = `import(${JSON.stringify(moduleUrl)}).then((m) => process.stdout.write(m.ensureLocalToken(${JSON.stringify(dataDir)})))`;
  const run = () =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
    });
  const tokens = await Promise.all([run(), run(), run(), run()]);
  assert.equal(new Set(tokens).size, 1, tokens.join(' '));
  assert.equal(tokens[0], fs.readFileSync(path.join(dataDir, TOKEN_FILE), 'utf8').trim());
});

test('the server logger redacts credential headers and keeps what options add', () => {
  const log = memoryLog();
  const logger = createServerLogger({ level: 'info', redact: ['body.password'] }, log.stream);
  logger.info({
    req: { headers: { authorization: 'Bearer s3cret-token', 'x-gitea-signature': 'sig', cookie: 'c=1', accept: '*/*' } },
    headers: { 'x-hub-signature-256': 'sha256=abc' },
    token: 'tok',
    body: { password: 'pw', name: 'kept' },
  }, 'probe');
  const line = log.lines[0]!;
  const text = JSON.stringify(line);
  for (const secret of ['s3cret-token', '"sig"', 'c=1', 'sha256=abc', '"tok"', '"pw"']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  assert.equal((line.req as { headers: Record<string, string> }).headers.accept, '*/*');
  assert.equal((line.body as Record<string, string>).name, 'kept');
});
