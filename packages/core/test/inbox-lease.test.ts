import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definePlugin } from '../src/plugin/define-plugin.js';
import { WebhookInbox } from '../src/intake/webhook-inbox.js';
import type { InboxStore } from '../src/persistence/ports.js';
import { createTestConveyor, eventually, ManualClock, RecordingLogger, testDatabases, type TestConveyor, type TestDialect } from '../src/testing/index.js';

function sameDatabase(first: TestConveyor, dialect: TestDialect): Record<string, unknown> {
  return dialect === 'pg' ? { database: { schema: first.conveyor.config.database.schema } } : { database: { filename: first.conveyor.config.database.filename } };
}

/** A plugin that records the payloads it processes, per host. */
function probe(seen: string[]) {
  return definePlugin({
    name: 'probe',
    register(ctx) {
      ctx.webhooks.onDelivery('probe', async (payload) => void seen.push(payload));
    },
  });
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} a host replays only its own and dead hosts' deliveries, never a live host's in flight`, async (t) => {
    const seen: string[] = [];
    const a = await createTestConveyor({ dialect, plugins: [probe([])], config: { instance: { hostId: 'host-a' } } });
    t.after(() => a.cleanup());
    const inbox = a.conveyor.store.inbox;
    await inbox.record({ source: 'probe', deliveryKey: 'mine', payload: 'mine', owner: 'host-b', leaseMs: 60_000 });
    await inbox.record({ source: 'probe', deliveryKey: 'live', payload: 'live', owner: 'host-a', leaseMs: 60_000 });
    const dead = await inbox.record({ source: 'probe', deliveryKey: 'dead', payload: 'dead', owner: 'host-c', leaseMs: 60_000 });
    await a.conveyor.db.knex('webhook_inbox').where({ id: dead.id }).update({ lease_expires_at: 1 });
    await inbox.record({ source: 'probe', deliveryKey: 'legacy', payload: 'legacy' });

    const b = await createTestConveyor({ dialect, plugins: [probe(seen)], config: { instance: { hostId: 'host-b' }, ...sameDatabase(a, dialect) } });
    t.after(() => b.cleanup());
    await b.conveyor.start();
    assert.deepEqual(seen.sort(), ['dead', 'legacy', 'mine'], "host-a's delivery under a live lease is left to host-a");
    const rows = await b.conveyor.db.knex('webhook_inbox').select('delivery_key', 'status', 'owner').orderBy('id');
    assert.deepEqual(rows.map((r: { delivery_key: string; status: string }) => [r.delivery_key, r.status]), [['mine', 'processed'], ['live', 'received'], ['dead', 'processed'], ['legacy', 'processed']]);
  });

  test(`${t0} a delivery taken over by another host is not processed again by the paused one`, async (t) => {
    const seen: string[] = [];
    const kit = await createTestConveyor({ dialect, plugins: [probe(seen)], config: { instance: { hostId: 'paused' } } });
    t.after(() => kit.cleanup());
    const inbox = kit.conveyor.store.inbox;
    const rec = await inbox.record({ source: 'probe', deliveryKey: 'k', payload: 'p', owner: 'paused', leaseMs: 60_000 });
    // Its lease ran out while it was paused; another host claims and processes it.
    await kit.conveyor.db.knex('webhook_inbox').where({ id: rec.id }).update({ lease_expires_at: 1 });
    assert.equal(await inbox.claim(rec.id, 'other', 60_000), true);
    assert.equal(await inbox.claim(rec.id, 'paused', 60_000), false, 'the paused host cannot take it back while the other holds it');
    assert.equal(await inbox.markProcessed(rec.id, 'processed', undefined, 'paused'), false, "the paused host's late outcome is refused");
    assert.equal(await inbox.markProcessed(rec.id, 'processed', undefined, 'other'), true);
    assert.equal(await inbox.claim(rec.id, 'other', 60_000), false, 'a processed delivery is never claimed again');
  });

  test(`${t0} a handler slower than the lease keeps its delivery: the lease is renewed while it runs, so another host's sweep does not take it over`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const store = kit.conveyor.store.inbox;
    const leaseMs = 1_500;
    let claimedAt = 0;
    let sweptAfterRenewal: Promise<{ takenOver: number }> | null = null;
    const other = new WebhookInbox(store, new RecordingLogger(), { hostId: 'other', leaseMs, retentionDays: 0 });
    const otherSeen: string[] = [];
    other.onDelivery('probe', async (p) => void otherSeen.push(p));
    // Host "slow"'s store, watched: its first claim takes the batch, later ones renew it.
    const watched = Object.create(store) as InboxStore;
    watched.claimMany = async (ids, owner, ms) => {
      const held = await store.claimMany(ids, owner, ms);
      if (!claimedAt) claimedAt = Date.now();
      // The first renewal past the original lease: right now, the other host sweeps.
      else if (!sweptAfterRenewal && Date.now() > claimedAt + leaseMs) sweptAfterRenewal = other.sweep();
      return held;
    };
    const slow = new WebhookInbox(watched, new RecordingLogger(), { hostId: 'slow', leaseMs, retentionDays: 0 });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    slow.onDelivery('probe', async (p) => {
      await released;
      seen.push(p);
    });
    await slow.accept({ source: 'probe', deliveryKey: 'k', payload: 'slow one' });
    await eventually(() => sweptAfterRenewal !== null, 30_000, 'a renewal past the original lease');
    assert.equal((await sweptAfterRenewal!).takenOver, 0, 'the other host found nothing to take over');
    release();
    await slow.idle();
    await other.idle();
    assert.deepEqual(seen, ['slow one']);
    assert.deepEqual(otherSeen, [], 'processed once, by the host that held it');
    const row = await kit.conveyor.db.knex('webhook_inbox').where({ delivery_key: 'k' }).first();
    assert.deepEqual([row.status, row.owner], ['processed', 'slow']);
  });

  test(`${t0} the sweep takes over a host's deliveries once it dies, without a restart, and deletes processed rows past retention`, async (t) => {
    const seen: string[] = [];
    const clock = new ManualClock(Date.now());
    const kit = await createTestConveyor({ dialect, clock, plugins: [probe(seen)], config: { instance: { hostId: 'survivor' }, intake: { sweepIntervalMs: 20, retentionDays: 7 } } });
    t.after(() => kit.cleanup());
    const inbox = kit.conveyor.store.inbox;
    const old = await inbox.record({ source: 'probe', deliveryKey: 'old', payload: 'old' });
    await inbox.markProcessed(old.id, 'processed');
    clock.advance(8 * 86_400_000);
    const recent = await inbox.record({ source: 'probe', deliveryKey: 'recent', payload: 'recent' });
    await inbox.markProcessed(recent.id, 'processed');
    await kit.conveyor.start();
    const orphan = await inbox.record({ source: 'probe', deliveryKey: 'orphan', payload: 'orphan', owner: 'died', leaseMs: 60_000 });
    await kit.conveyor.db.knex('webhook_inbox').where({ id: orphan.id }).update({ lease_expires_at: 1 });
    await eventually(() => seen.includes('orphan'), 10_000, 'the orphaned delivery was processed by the survivor');
    await eventually(async () => (await kit.conveyor.db.knex('webhook_inbox').where({ delivery_key: 'old' })).length === 0, 10_000, 'old row deleted');
    const keys = (await kit.conveyor.db.knex('webhook_inbox').select('delivery_key').orderBy('id')).map((r: { delivery_key: string }) => r.delivery_key);
    assert.deepEqual(keys, ['recent', 'orphan'], 'only rows past retention are deleted');
  });
}
