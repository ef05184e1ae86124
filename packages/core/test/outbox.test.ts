import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestConveyor, ManualClock, testDatabases } from '../src/testing/index.js';

for (const dialect of testDatabases()) {
  const d = `[${dialect}]`;

  test(`${d} an effect is stored once per key, run by its writer, and marked done only by its holder`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const { outbox } = kit.conveyor;
    const a = await outbox.add({ taskId: null, effect: 'tracker.status', key: 'k-1', payload: { status: 'Done', reason: 'x' } });
    const again = await outbox.add({ taskId: null, effect: 'tracker.status', key: 'k-1', payload: { status: 'Other', reason: 'y' } });
    assert.equal(again.id, a.id, 'the same key returns the stored row');
    assert.deepEqual(again.payload, { status: 'Done', reason: 'x' });
    assert.equal(a.claimedBy, outbox.owner);
    assert.equal(await kit.conveyor.store.outbox.complete(a.id, 'someone-else'), false, 'only the holder completes it');
    assert.deepEqual(await outbox.run(a), { ran: true, ok: true, value: undefined });
    assert.equal((await kit.conveyor.store.outbox.get(a.id))!.status, 'done');
    assert.deepEqual(await outbox.run((await kit.conveyor.store.outbox.get(a.id))!), { ran: false }, 'a done effect does not run again');
  });

  test(`${d} a failing effect is retried with backoff, then given up with an error; the dispatcher runs what is due`, async (t) => {
    const clock = new ManualClock();
    const kit = await createTestConveyor({ dialect, clock, config: { outbox: { maxAttempts: 2, retryBaseMs: 1000 } } });
    t.after(() => kit.cleanup());
    const { outbox } = kit.conveyor;
    let calls = 0;
    kit.tracker.setStatus = async () => {
      calls++;
      throw new Error('tracker down');
    };
    const task = (await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' })).task;
    const e = await outbox.add({ taskId: task.id, effect: 'tracker.status', key: 'k-fail', payload: { status: 'Done', reason: 'x' } });
    const first = await outbox.run(e);
    assert.equal(first.ran && !first.ok && first.error.message, 'tracker down');
    let row = (await kit.conveyor.store.outbox.get(e.id))!;
    assert.deepEqual([row.status, row.attempts, row.claimedBy, row.lastError], ['pending', 1, null, 'tracker down']);
    assert.equal(await outbox.drain(), 0, 'not due before its backoff');
    clock.advance(1000);
    assert.equal(await outbox.drain(), 1);
    row = (await kit.conveyor.store.outbox.get(e.id))!;
    assert.deepEqual([row.status, row.attempts], ['failed', 2], 'given up at outbox.maxAttempts');
    assert.equal(calls, 2);
    assert.ok(kit.logger.lines.some((l) => l.level === 'error' && /failed 2 times; given up/.test(l.msg ?? '')));
    clock.advance(10 * 60_000);
    assert.equal(await outbox.drain(), 0, 'a failed effect stays for a person');
  });

  test(`${d} an effect held by a live instance of this host is left alone; one held by a stopped one is taken over`, async (t) => {
    const first = await createTestConveyor({ dialect, config: { instance: { hostId: 'box' } } });
    const db = dialect === 'pg' ? { schema: first.conveyor.config.database.schema } : { filename: first.conveyor.config.database.filename };
    const second = await createTestConveyor({ dialect, tracker: first.tracker, config: { instance: { hostId: 'box' }, database: db } });
    t.after(async () => {
      await second.cleanup();
      await first.cleanup();
    });
    const task = (await first.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' })).task;
    await first.conveyor.outbox.add({ taskId: task.id, effect: 'tracker.status', key: 'held', payload: { status: 'Done', reason: 'x' } });
    assert.equal(await second.conveyor.outbox.recoverDeadOwners(), 0, 'the first instance is alive');
    await first.conveyor.stop();
    assert.equal(await second.conveyor.outbox.recoverDeadOwners(), 1);
    assert.deepEqual(first.tracker.statuses.map((s) => s.status), ['Done']);
  });

  test(`${d} done effects older than outbox.retentionDays are deleted; pending and failed ones stay`, async (t) => {
    const clock = new ManualClock();
    const kit = await createTestConveyor({ dialect, clock, config: { outbox: { retentionDays: 1 } } });
    t.after(() => kit.cleanup());
    const { outbox, store } = kit.conveyor;
    const old = await outbox.add({ taskId: null, effect: 'tracker.status', key: 'old', payload: { status: 'x', reason: 'x' } });
    await outbox.run(old);
    const pending = await outbox.add({ taskId: null, effect: 'tracker.status', key: 'pending', payload: { status: 'x', reason: 'x' } });
    clock.advance(86_400_000 + 1);
    const fresh = await outbox.add({ taskId: null, effect: 'tracker.status', key: 'fresh', payload: { status: 'x', reason: 'x' } });
    await outbox.run(fresh);
    assert.equal(await outbox.prune(true), 1);
    assert.equal(await store.outbox.get(old.id), null);
    assert.ok(await store.outbox.get(pending.id));
    assert.ok(await store.outbox.get(fresh.id));
    assert.deepEqual((await kit.conveyor.snapshot()).effects, { pending: 1, done: 1, failed: 0 });
  });
}
