import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Knex } from 'knex';
import { WebhookInbox } from '../src/intake/webhook-inbox.js';
import { definePlugin } from '../src/plugin/define-plugin.js';
import type { InboxStore } from '../src/persistence/ports.js';
import { createTestConveyor, RecordingLogger, testDatabases, type TestDialect } from '../src/testing/index.js';

/** A plugin that records the payloads it processes. */
function probe(seen: string[]) {
  return definePlugin({
    name: 'probe',
    register(ctx) {
      ctx.webhooks.onDelivery('probe', async (payload) => void seen.push(payload));
    },
  });
}

/** Counts the statements run on `knex` whose SQL matches each pattern. */
function countStatements(knex: Knex, patterns: Record<string, RegExp>): Record<string, number> {
  const counts = Object.fromEntries(Object.keys(patterns).map((k) => [k, 0]));
  knex.on('query', (q: { sql: string }) => {
    for (const [k, re] of Object.entries(patterns)) if (re.test(q.sql)) counts[k]!++;
  });
  return counts;
}

/** A trigger that refuses the row whose payload is "poison", on either database. */
async function poisonTrigger(knex: Knex, dialect: TestDialect): Promise<void> {
  if (dialect === 'pg') {
    await knex.raw(`CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN IF NEW.payload = 'poison' THEN RAISE EXCEPTION 'poisoned delivery'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await knex.raw('CREATE TRIGGER refuse_poison BEFORE INSERT ON webhook_inbox FOR EACH ROW EXECUTE FUNCTION refuse_poison()');
  } else {
    await knex.raw(`CREATE TRIGGER refuse_poison BEFORE INSERT ON webhook_inbox WHEN NEW.payload = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned delivery'); END`);
  }
}

for (const dialect of testDatabases({ bothSqliteDrivers: true })) {
  const t0 = `[${dialect}]`;

  test(`${t0} deliveries that arrive together are recorded by one INSERT, claimed by one UPDATE and marked by one more`, async (t) => {
    const seen: string[] = [];
    const kit = await createTestConveyor({ dialect, plugins: [probe(seen)], config: { instance: { hostId: 'host-a' } } });
    t.after(() => kit.cleanup());
    const knex = kit.conveyor.db.knex;
    const n = countStatements(knex, { insert: /^INSERT INTO webhook_inbox/i, claim: /^UPDATE webhook_inbox SET owner/i, mark: /^UPDATE webhook_inbox SET status/i });
    const inbox = kit.conveyor.webhooks;
    const keys = ['k1', 'k2', 'k1', 'k3', 'k4'];
    const res = await Promise.all(keys.map((k, i) => inbox.accept({ source: 'probe', deliveryKey: k, payload: `p${i}` })));
    assert.equal(n.insert, 1, 'one INSERT (one commit) for the five deliveries');
    assert.deepEqual(res.map((r) => r.duplicate), [false, false, true, false, false], 'a key repeated within the batch is a duplicate');
    assert.equal(res[2]!.id, res[0]!.id, 'the duplicate is acknowledged with the id of the row that holds its key');
    assert.equal(new Set(res.map((r) => r.id)).size, 4);
    const again = await inbox.accept({ source: 'probe', deliveryKey: 'k3', payload: 'again' });
    assert.deepEqual(again, { id: res[3]!.id, duplicate: true }, 'a key recorded by an earlier batch is a duplicate');
    await inbox.idle();
    assert.deepEqual(seen, ['p0', 'p1', 'p3', 'p4'], 'each new delivery processed once, in arrival order');
    assert.deepEqual([n.claim, n.mark], [1, 1], 'the batch is claimed by one UPDATE and marked by one');
    const rows = (await knex('webhook_inbox').select('delivery_key', 'status', 'owner', 'lease_expires_at').orderBy('id')) as Record<string, unknown>[];
    assert.deepEqual(rows.map((r) => [r.delivery_key, r.status, r.owner, r.lease_expires_at]), ['k1', 'k2', 'k3', 'k4'].map((k) => [k, 'processed', 'host-a', null]));
  });

  test(`${t0} a batch that fails is refused as a whole: every delivery in it is rejected with the error, none is recorded`, async (t) => {
    const seen: string[] = [];
    const kit = await createTestConveyor({ dialect, plugins: [probe(seen)] });
    t.after(() => kit.cleanup());
    const knex = kit.conveyor.db.knex;
    await poisonTrigger(knex, dialect);
    const inbox = kit.conveyor.webhooks;
    const results = await Promise.allSettled(['a', 'poison', 'c'].map((p) => inbox.accept({ source: 'probe', deliveryKey: p, payload: p })));
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.match(String((r as PromiseRejectedResult).reason?.message), /poisoned delivery/);
    }
    assert.equal(Number((await knex('webhook_inbox').count({ n: '*' }))[0]!.n), 0, 'no row of the failed batch was written');
    // The inbox goes on: the next batch is recorded and processed.
    assert.equal((await inbox.accept({ source: 'probe', deliveryKey: 'a', payload: 'a' })).duplicate, false, 'the refused key was never recorded');
    await inbox.idle();
    assert.deepEqual(seen, ['a']);
  });

  test(`${t0} accept resolves only once the write holding its row has returned, and the rows are there when it does`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const real = kit.conveyor.store.inbox;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let called!: (batch: number) => void;
    const writeStarted = new Promise<number>((r) => (called = r));
    const gated: InboxStore = Object.assign(Object.create(real) as InboxStore, {
      recordMany: async (inputs: Parameters<InboxStore['recordMany']>[0]) => {
        called(inputs.length);
        await gate;
        return real.recordMany(inputs);
      },
    });
    const inbox = new WebhookInbox(gated, new RecordingLogger(), { hostId: 'h' });
    inbox.onDelivery('probe', async () => undefined);
    let acknowledged = 0;
    const accepts = ['x', 'y', 'z'].map((k) => inbox.accept({ source: 'probe', deliveryKey: k, payload: k }).then((r) => (acknowledged++, r)));
    assert.equal(await writeStarted, 3, 'the three deliveries went into one write');
    await new Promise((r) => setImmediate(r));
    assert.equal(acknowledged, 0, 'no delivery is acknowledged while its write is pending');
    release();
    await Promise.all(accepts);
    const keys = (await kit.conveyor.db.knex('webhook_inbox').select('delivery_key').orderBy('id')).map((r: { delivery_key: string }) => r.delivery_key);
    assert.deepEqual(keys, ['x', 'y', 'z']);
    await inbox.stop();
  });
}
