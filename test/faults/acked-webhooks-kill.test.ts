import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { FAULT_GITEA_SECRET, FAULT_REPO, FaultScenario } from './harness/index.js';

const SENDERS = 50;
const KILL_AFTER = 300;

/** A signed Gitea `status` delivery of its own (a distinct status id → a distinct inbox key). */
function statusDelivery(n: number, secret: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    id: n,
    sha: crypto.createHash('sha1').update(String(n)).digest('hex'),
    context: 'ci/build',
    state: 'success',
    target_url: '',
    updated_at: '2026-05-20T09:07:19Z',
    repository: { full_name: FAULT_REPO },
    padding: 'x'.repeat(4_000),
  });
  const sig = crypto.createHmac('sha256', secret).update(body).digest('hex');
  return { body, headers: { 'content-type': 'application/json', 'x-gitea-event': 'status', 'x-gitea-signature': sig, 'x-gitea-delivery': `d-${n}` } };
}

// Group commit acknowledges a delivery only once the statement holding its row has
// committed. Fifty senders post at once (so deliveries share commits) and the host is
// SIGKILLed in the middle of it: every delivery it answered 202 must be in the inbox
// afterwards, and processed by the next start.
for (const dialect of testDatabases()) {
  test(`[${dialect}] a SIGKILL in the middle of a burst of webhooks loses none that were acknowledged`, { timeout: 180_000 }, async (t) => {
    const s = await FaultScenario.create(t, { name: 'acked-webhooks', dialect, profile: 'plane-gitea', config: { plugins: { reconciler: { enabled: false } } } });
    const host = s.host();
    const url = await host.start();
    const secret = FAULT_GITEA_SECRET;
    const acked = new Set<number>();
    let next = 0;
    let failed = 0;
    let killing: Promise<unknown> | null = null;
    // Each sender posts one delivery after another until the host dies under it.
    const sender = async () => {
      while (!killing) {
        const n = ++next;
        const { body, headers } = statusDelivery(n, secret);
        let res: Response;
        try {
          res = await fetch(`${url}/webhooks/gitea`, { method: 'POST', headers, body });
        } catch {
          failed++; // the host died before answering: not acknowledged, the sender retries later
          return;
        }
        assert.equal(res.status, 202, `delivery ${n}: ${await res.text()}`);
        acked.add(n);
        if (acked.size >= KILL_AFTER) killing ??= host.kill();
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, sender));
    await killing;
    process.stderr.write(`acked-webhooks ${dialect}: ${acked.size} of ${next} deliveries acknowledged, ${failed} cut off by the SIGKILL\n`);
    assert.ok(failed > 0, 'the kill landed while deliveries were in flight');

    const { knex } = await s.db();
    const rows = (await knex('webhook_inbox').select('payload', 'status')) as { payload: string; status: string }[];
    const recorded = new Set(rows.map((r) => (JSON.parse(r.payload) as { event: { statusId: number } }).event.statusId));
    const lost = [...acked].filter((n) => !recorded.has(n));
    assert.deepEqual(lost, [], 'every acknowledged delivery is in the inbox');

    // The next start processes what the killed host acknowledged and left unprocessed.
    await host.start();
    await s.until(async () => Number((await knex('webhook_inbox').where({ status: 'received' }).count({ n: '*' }))[0]!.n) === 0, 60_000, 'every recorded delivery processed', 100);
    assert.deepEqual(await host.stop(), { code: 0, signal: null });
  });
}
