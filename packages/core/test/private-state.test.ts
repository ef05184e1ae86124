import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createConveyor, ensurePrivateDir, sqliteFiles, tightenPrivateFile } from '@conveyor/core';
import { createTestConveyor, RecordingLogger, testDatabases } from '@conveyor/core/testing';

const posix = process.platform !== 'win32';
const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-private-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An instance on its own SQLite file under `dataDir`, stopped at the end of the test. */
async function sqliteInstance(t: { after(fn: () => Promise<void>): void }, dataDir: string, logger = new RecordingLogger()) {
  const conveyor = await createConveyor({ config: { instance: { dataDir }, database: { client: 'sqlite', filename: path.join(dataDir, 'conveyor.db') }, worker: { enabled: false } }, logger });
  t.after(() => conveyor.stop());
  return { conveyor, logger };
}

const narrowedLines = (logger: RecordingLogger) => logger.lines.filter((l) => l.level === 'warn' && /^narrowed /.test(l.msg ?? ''));

test('a new data directory is created 0700 and the SQLite database, its WAL and shared memory 0600', { skip: !posix }, async (t) => {
  const dataDir = path.join(tempDir(t), 'nested', 'data');
  const { logger } = await sqliteInstance(t, dataDir);
  // The migrations wrote, so SQLite has created its -wal and -shm files (with the database file's mode).
  assert.equal(modeOf(dataDir), 0o700);
  const db = path.join(dataDir, 'conveyor.db');
  for (const file of [db, `${db}-wal`, `${db}-shm`]) assert.equal(modeOf(file), 0o600, file);
  assert.deepEqual(narrowedLines(logger), [], 'nothing to narrow on a fresh install');
});

test('an existing data directory (0755) and database files (0644) are narrowed at start, with one warning; the next start says nothing', { skip: !posix }, async (t) => {
  const dataDir = path.join(tempDir(t), 'data');
  const first = await sqliteInstance(t, dataDir);
  await first.conveyor.stop();
  const db = path.join(dataDir, 'conveyor.db');
  fs.chmodSync(dataDir, 0o755);
  const loose = sqliteFiles(db).filter((f) => fs.existsSync(f));
  for (const f of loose) fs.chmodSync(f, 0o644);
  const second = await sqliteInstance(t, dataDir);
  assert.equal(modeOf(dataDir), 0o700);
  for (const f of loose) assert.equal(modeOf(f), 0o600, f);
  const lines = narrowedLines(second.logger);
  assert.equal(lines.length, 1, 'one line for all of them');
  assert.deepEqual((lines[0]!.obj.tightened as { path: string }[]).map((c) => c.path), [dataDir, ...loose]);
  assert.match(lines[0]!.msg!, new RegExp(`${dataDir.replace(/[/.]/g, '\\$&')} \\(0755 → 0700\\)`));
  await second.conveyor.stop();
  const third = await sqliteInstance(t, dataDir);
  assert.deepEqual(narrowedLines(third.logger), []);
});

for (const dialect of testDatabases()) {
  test(`[${dialect}] the data directory is private whatever the database`, { skip: !posix }, async (t) => {
    const dataDir = path.join(tempDir(t), 'state');
    const kit = await createTestConveyor({ dialect, config: { instance: { dataDir } } });
    t.after(() => kit.cleanup());
    assert.equal(modeOf(dataDir), 0o700);
  });
}

test('ensurePrivateDir and tightenPrivateFile take only group and other bits, and report what they changed', { skip: !posix }, (t) => {
  const dir = tempDir(t);
  const sub = path.join(dir, 'sub');
  assert.equal(ensurePrivateDir(sub), null, 'created private: nothing to report');
  fs.chmodSync(sub, 0o777);
  assert.deepEqual(ensurePrivateDir(sub), { path: sub, from: '0777', to: '0700' });
  const file = path.join(sub, 'f');
  fs.writeFileSync(file, 'x', { mode: 0o640 });
  fs.chmodSync(file, 0o640);
  assert.deepEqual(tightenPrivateFile(file), { path: file, from: '0640', to: '0600' });
  fs.chmodSync(file, 0o400);
  assert.equal(tightenPrivateFile(file), null, 'an owner-only mode is left as it is');
  assert.equal(modeOf(file), 0o400);
  assert.equal(tightenPrivateFile(path.join(sub, 'absent')), null);
});
