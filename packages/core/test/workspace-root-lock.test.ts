import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT_LOCK_FILE, WorkspaceRootLock } from '../src/workspace/workspace-root-lock.js';
import { armFaultPoint } from '../src/util/fault-point.js';
import { HOST_ID_FILE } from '../src/util/host-id.js';
import { createTestConveyor, RecordingLogger } from '../src/testing/index.js';

function tempRoot(t: import('node:test').TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-root-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a second host on the same workspaces root is refused at start, naming the holder; nothing of it starts', async (t) => {
  const root = tempRoot(t);
  const first = await createTestConveyor({ config: { instance: { hostId: 'first' }, worker: { enabled: true }, workspaces: { root } } });
  t.after(() => first.cleanup());
  await first.conveyor.start();
  const second = await createTestConveyor({ config: { instance: { hostId: 'second' }, worker: { enabled: true }, workspaces: { root } } });
  t.after(() => second.cleanup());
  await assert.rejects(second.conveyor.start(), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'CONVEYOR_WORKSPACE_ROOT_IN_USE');
    assert.match(err.message, /in use by another Conveyor host \(host id "first", pid \d+/);
    assert.match(err.message, /give each its own `workspaces.root`/);
    return true;
  });
  assert.equal(second.events.of('job.claimed').length, 0);
  // The first keeps its lock; once it stops, the root is free again.
  await first.conveyor.stop();
  assert.equal(fs.existsSync(path.join(root, ROOT_LOCK_FILE)), false, 'a clean stop removes the lock');
  const third = await createTestConveyor({ config: { instance: { hostId: 'third' }, worker: { enabled: true }, workspaces: { root } } });
  t.after(() => third.cleanup());
  await third.conveyor.start();
});

test('the lock of a host that died (its pid is gone) is taken over at the next start', async (t) => {
  const root = tempRoot(t);
  const dead = spawn('true');
  await new Promise((r) => dead.once('exit', r));
  fs.writeFileSync(path.join(root, ROOT_LOCK_FILE), JSON.stringify({ hostId: 'crashed', machine: os.hostname(), pid: dead.pid, startedAt: new Date(Date.now() - 60_000).toISOString() }));
  const logger = new RecordingLogger();
  const lock = WorkspaceRootLock.acquire(root, { hostId: 'next', logger });
  t.after(() => lock.release());
  assert.ok(logger.lines.some((l) => l.msg?.startsWith('taking over the workspaces root lock')));
  assert.equal(JSON.parse(fs.readFileSync(path.join(root, ROOT_LOCK_FILE), 'utf8')).hostId, 'next');
});

test('two hosts taking over the same stale lock at once: the slower one does not remove the lock the faster one just took', async (t) => {
  const root = tempRoot(t);
  const file = path.join(root, ROOT_LOCK_FILE);
  const dead = spawn('true');
  await new Promise((r) => dead.once('exit', r));
  fs.writeFileSync(file, JSON.stringify({ hostId: 'crashed', machine: os.hostname(), pid: dead.pid, startedAt: new Date(Date.now() - 60_000).toISOString() }));
  // "slow" has judged the crashed host's lock stale; before it acts, "fast" takes the root.
  let fast: WorkspaceRootLock | null = null;
  const disarm = armFaultPoint('workspace.root-lock-takeover', { at: 1, action: () => void (fast = WorkspaceRootLock.acquire(root, { hostId: 'fast', logger: new RecordingLogger() })) });
  t.after(() => {
    disarm();
    (fast as WorkspaceRootLock | null)?.release();
  });
  assert.throws(() => WorkspaceRootLock.acquire(root, { hostId: 'slow', logger: new RecordingLogger() }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'CONVEYOR_WORKSPACE_ROOT_IN_USE');
    assert.match(err.message, /host id "fast"/);
    return true;
  });
  assert.ok(fast, 'the faster host took the root');
  assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).hostId, 'fast', 'its lock is still in place');
  assert.deepEqual(fs.readdirSync(root), [ROOT_LOCK_FILE], 'no temporary lock file left behind');
});

test('a lock of another machine is honoured while it is touched, taken over once it is stale', (t) => {
  const root = tempRoot(t);
  const file = path.join(root, ROOT_LOCK_FILE);
  fs.writeFileSync(file, JSON.stringify({ hostId: 'elsewhere', machine: 'another-machine', pid: 1, startedAt: new Date().toISOString() }));
  assert.throws(() => WorkspaceRootLock.acquire(root, { hostId: 'me', logger: new RecordingLogger(), staleMs: 30_000 }), /another-machine/);
  const old = new Date(Date.now() - 120_000);
  fs.utimesSync(file, old, old);
  const lock = WorkspaceRootLock.acquire(root, { hostId: 'me', logger: new RecordingLogger(), staleMs: 30_000 });
  lock.release();
  lock.release();
  assert.equal(fs.existsSync(file), false);
});

test('without instance.hostId the host id is made once and kept in the data directory', async (t) => {
  const kit = await createTestConveyor();
  t.after(() => kit.cleanup());
  const dataDir = kit.conveyor.config.instance.dataDir;
  assert.equal(fs.readFileSync(path.join(dataDir, HOST_ID_FILE), 'utf8').trim(), kit.conveyor.hostId);
  assert.match(kit.conveyor.hostId, /-[0-9a-f]{8}$/);
  const again = await createTestConveyor({ config: { instance: { dataDir }, database: { filename: kit.conveyor.config.database.filename } } });
  t.after(() => again.cleanup());
  assert.equal(again.conveyor.hostId, kit.conveyor.hostId, 'the next start (a restarted container) keeps it');
});
