import assert from 'node:assert/strict';
import { test } from 'node:test';
import crypto from 'node:crypto';
import pg from 'pg';
import { coreMigrations, KnexJobStore, openDatabase, runMigrations } from '../src/index.js';
import { CoreTokens } from '../src/tokens.js';
import type { Job } from '../src/domain.js';
import type { JobFinisher } from '../src/queue/job-finisher.js';
import type { ClaimClause } from '../src/queue/claim-clause.js';
import { createTestConveyor, ManualClock, RecordingLogger, testDatabases, type TestConveyor } from '../src/testing/index.js';

/** `n` tasks with one queued agent job each, in id order (the claim order). */
async function seedJobs(kit: TestConveyor, n: 2 | 3, repo: (i: number) => string = () => 'r'): Promise<[number, number, number]> {
  const k = kit.conveyor.db.knex;
  const tasks = Array.from({ length: n }, (_, i) => ({ repo: repo(i), tracker_issue_id: `s-${i}`, work_item_id: `S-${i}`, title: 't', description: '', stage: 'analysis', branch: `s-${i}`, branch_cut: true, developer_retries: 0, created_at: 0, updated_at: 0 }));
  const ids = ((await k('tasks').insert(tasks).returning('id')) as { id: number }[]).map((r) => Number(r.id));
  const rows = (await k('jobs').insert(ids.map((id) => ({ task_id: id, stage: 'analysis', kind: 'agent', role: 'analyst', status: 'queued', available_at: 0, created_at: 0 }))).returning('id')) as { id: number }[];
  // (the third is undefined when n is 2)
  return rows.map((r) => Number(r.id)) as [number, number, number];
}

const statusOf = async (kit: TestConveyor, id: number): Promise<string> => String((await kit.conveyor.db.knex('jobs').where({ id }).first()).status);

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} finishAndClaim finishes this attempt and claims the next job, with a lease, in one call`, async (t) => {
    const clock = new ManualClock(1_000_000);
    const kit = await createTestConveyor({ dialect, clock });
    t.after(() => kit.cleanup());
    const jobs = kit.conveyor.store.jobs;
    const [a, b] = await seedJobs(kit, 2);
    const first = (await jobs.claim({ hostId: 'h', clauses: [] }))!;
    assert.equal(first.id, a);
    clock.advance(10);
    const out = await jobs.finishAndClaim({ id: first.id, attempt: first.attempt, status: 'done' }, { hostId: 'h2', clauses: [], leaseMs: 60_000 });
    assert.equal(out.finished, true);
    assert.equal(out.next!.id, b);
    assert.equal(out.next!.status, 'running');
    assert.equal(out.next!.attempt, 1);
    assert.equal(out.next!.hostId, 'h2');
    assert.equal(out.next!.startedAt!.getTime(), clock.now());
    assert.ok(out.next!.leaseExpiresAt, 'the claim grants a lease in database time');
    const row = (await jobs.get(a))!;
    assert.equal(row.status, 'done');
    assert.equal(row.finishedAt!.getTime(), clock.now());
    // A failed status with its error, and an empty queue: finished, nothing claimed.
    const last = await jobs.finishAndClaim({ id: b, attempt: 1, status: 'failed', error: 'boom' }, { hostId: 'h', clauses: [] });
    assert.deepEqual(last, { finished: true, next: null });
    assert.equal((await jobs.get(b))!.error, 'boom');
  });

  test(`${t0} finishAndClaim is fenced: a late completion of a job taken away claims nothing`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const jobs = kit.conveyor.store.jobs;
    const [a, b] = await seedJobs(kit, 2);
    const stale = (await jobs.claim({ hostId: 'h', clauses: [] }))!;
    assert.equal(stale.id, a);
    // Its lease runs out and another host takes it back and claims it again.
    await kit.conveyor.db.knex('jobs').where({ id: a }).update({ lease_expires_at: 0 });
    assert.ok(await jobs.requeueStale(a, stale.attempt, null));
    // Back at the head of the queue (the re-queue made it available now, behind b).
    await kit.conveyor.db.knex('jobs').where({ id: a }).update({ available_at: 0 });
    const fresh = (await jobs.claim({ hostId: 'other', clauses: [] }))!;
    assert.deepEqual([fresh.id, fresh.attempt], [a, stale.attempt + 1]);
    const late = await jobs.finishAndClaim({ id: a, attempt: stale.attempt, status: 'done' }, { hostId: 'h', clauses: [] });
    assert.deepEqual(late, { finished: false, next: null });
    assert.equal(await statusOf(kit, a), 'running', 'the live attempt keeps the job');
    assert.equal(await statusOf(kit, b), 'queued', 'a failed finish claims nothing');
    // The live attempt's own finish goes through and takes b.
    const live = await jobs.finishAndClaim({ id: a, attempt: fresh.attempt, status: 'done' }, { hostId: 'other', clauses: [] });
    assert.equal(live.finished, true);
    assert.equal(live.next!.id, b);
  });

  test(`${t0} finishAndClaim's claim applies the claim clauses`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const jobs = kit.conveyor.store.jobs;
    const [a, , c] = await seedJobs(kit, 3, (i) => (i === 1 ? 'frozen' : 'open'));
    const notFrozen: ClaimClause = { name: 'not-frozen', build: (ctx) => ({ sql: `${ctx.task}.repo <> ?`, bindings: ['frozen'] }) };
    const first = (await jobs.claim({ hostId: 'h', clauses: [notFrozen] }))!;
    assert.equal(first.id, a);
    const out = await jobs.finishAndClaim({ id: a, attempt: first.attempt, status: 'done' }, { hostId: 'h', clauses: [notFrozen] });
    assert.equal(out.next!.id, c, 'the held-back job is skipped');
  });

  test(`${t0} finishAndClaim inside a transaction that rolls back leaves both jobs as they were`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const jobs = kit.conveyor.store.jobs;
    const [a, b] = await seedJobs(kit, 2);
    const first = (await jobs.claim({ hostId: 'h', clauses: [] }))!;
    await assert.rejects(
      kit.conveyor.db.knex.transaction(async (tx) => {
        const out = await jobs.finishAndClaim({ id: a, attempt: first.attempt, status: 'done' }, { hostId: 'h', clauses: [] }, tx);
        assert.equal(out.next!.id, b);
        throw new Error('roll back');
      }),
      /roll back/,
    );
    assert.equal(await statusOf(kit, a), 'running');
    assert.equal(await statusOf(kit, b), 'queued');
  });

  test(`${t0} a hot statement outside a transaction never runs inside one that holds the connection`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const jobs = kit.conveyor.store.jobs;
    const [a] = await seedJobs(kit, 2);
    const first = (await jobs.claim({ hostId: 'h', clauses: [] }))!;
    let outside: Promise<boolean> | undefined;
    await assert.rejects(
      kit.conveyor.db.knex.transaction(async (tx) => {
        assert.equal(await jobs.finish(a, first.attempt, 'failed', 'in the transaction', tx), true);
        // Called while the transaction holds the connection (SQLite's only one, or
        // the row's lock on PostgreSQL): it must wait for the transaction to end.
        outside = jobs.finish(a, first.attempt, 'done');
        throw new Error('roll back');
      }),
      /roll back/,
    );
    assert.equal(await outside, true, 'after the rollback the job is still running, and this finish wins it');
    const row = (await jobs.get(a))!;
    assert.deepEqual([row.status, row.error], ['done', null]);
  });

  test(`${t0} a finish with a handoff hands the job it claimed to the worker; a lost finish hands nothing`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const jobs = kit.conveyor.store.jobs;
    const finisher = kit.conveyor.container.resolve<JobFinisher>(CoreTokens.JobFinisher);
    const [a, b, c] = await seedJobs(kit, 3);
    const taken: Job[] = [];
    const handoff = { claim: () => ({ hostId: 'h', clauses: [] }), take: (job: Job) => void taken.push(job) };
    const first = (await jobs.claim({ hostId: 'h', clauses: [] }))!;
    assert.equal((await finisher.finish(first, 'failed', 'no', handoff)).won, true);
    assert.deepEqual(taken.map((j) => j.id), [b]);
    // A second finish of the same attempt loses, and must not claim c.
    assert.equal((await finisher.finish(first, 'failed', 'again', handoff)).won, false);
    assert.deepEqual(taken.map((j) => j.id), [b]);
    assert.equal(await statusOf(kit, c), 'queued');
    // A worker that is stopping asks for nothing.
    assert.equal((await finisher.finish(taken[0]!, 'failed', 'no', { claim: () => null, take: (job) => void taken.push(job) })).won, true);
    assert.deepEqual(taken.map((j) => j.id), [b]);
    assert.equal(await statusOf(kit, a), 'failed');
  });

  test(`${t0} a worker with one slot claims the next job with the finish, while the finishing job still holds the slot`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { worker: { enabled: true, maxConcurrency: 1 } } });
    t.after(() => kit.cleanup());
    let running = 0;
    let peak = 0;
    kit.conveyor.events.on('agent.started', () => void (peak = Math.max(peak, ++running)));
    kit.conveyor.events.on('agent.finished', () => void running--);
    // What the worker runs when each job is claimed: a claim of its own (a free slot)
    // sees none; a claim made by the finish sees the finishing job, not yet returned.
    const inFlightAtClaim: number[] = [];
    kit.conveyor.events.on('job.claimed', () => void inFlightAtClaim.push(kit.conveyor.worker.running));
    for (let i = 0; i < 3; i++) await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: `${i}`, title: `t${i}` });
    await kit.conveyor.start();
    await kit.events.waitFor('job.finished', () => kit.events.of('job.finished').length >= 3);
    assert.equal(peak, 1, 'never more agents than slots');
    assert.deepEqual(inFlightAtClaim.slice(0, 3), [0, 1, 1], 'the first job is claimed by the loop, the next two by the finishes before them');
    const claimed = kit.events.of('job.claimed').map((e) => (e as { job: Job }).job.id);
    assert.equal(new Set(claimed).size, claimed.length, 'no job claimed twice');
  });
}

if (testDatabases().includes('pg')) {
  test('[pg] the hot statements are named prepared statements, prepared again on a new connection after the old one died', async (t) => {
    const url = process.env.CONVEYOR_TEST_PG_URL!;
    const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
    // One connection in the pool, so the statements and the session they live in are known.
    const db = await openDatabase({ client: 'pg', url, schema, pool: { min: 0, max: 1 } });
    t.after(async () => {
      await db.knex.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
    });
    await runMigrations(db.knex, db.dialect, coreMigrations);
    const knex = db.knex;
    const ids = ((await knex('tasks').insert([0, 1, 2].map((i) => ({ repo: 'r', tracker_issue_id: `s-${i}`, work_item_id: `S-${i}`, title: 't', description: '', stage: 'analysis', branch: `s-${i}`, branch_cut: true, developer_retries: 0, created_at: 0, updated_at: 0 }))).returning('id')) as { id: number }[]);
    await knex('jobs').insert(ids.map((r) => ({ task_id: r.id, stage: 'analysis', kind: 'agent', role: 'analyst', status: 'queued', available_at: 0, created_at: 0 })));
    const jobs = new KnexJobStore(db, { now: () => Date.now() }, new RecordingLogger());
    const first = (await jobs.claim({ hostId: 'h', clauses: [] }))!;
    const prepared = async (): Promise<string[]> => ((await knex.raw(`SELECT statement FROM pg_prepared_statements WHERE name LIKE 'conveyor_%'`)).rows as { statement: string }[]).map((r) => r.statement);
    assert.ok((await prepared()).some((s) => s.includes("UPDATE jobs SET status = 'running'")), 'the claim is prepared in the session');
    // The server ends the session (a restart, a failover): the pool's one connection dies.
    const conn = (await knex.client.acquireConnection()) as pg.Client & { processID: number };
    const ended = new Promise((resolve) => conn.once('end', resolve));
    await knex.client.releaseConnection(conn);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    t.after(() => admin.end());
    await admin.query('SELECT pg_terminate_backend($1)', [conn.processID]);
    await ended;
    const out = await jobs.finishAndClaim({ id: first.id, attempt: first.attempt, status: 'done' }, { hostId: 'h', clauses: [] });
    assert.equal(out.finished, true);
    assert.ok(out.next);
    assert.ok(await jobs.claim({ hostId: 'h', clauses: [] }), 'the claim is prepared again on the new connection');
    const now = await prepared();
    assert.ok(now.some((s) => s.startsWith('WITH fin AS')) && now.some((s) => s.startsWith("UPDATE jobs SET status = 'running'")), 'the new session holds the statements it ran');
  });
}
