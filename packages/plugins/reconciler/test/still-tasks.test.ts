import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { stillTasks } from '../src/index.js';
import { reconcilerKit } from './kit.js';

for (const dialect of testDatabases()) {
  test(`[${dialect}] still tasks are read a page at a time and none is missed across page boundaries; the oldest come first, at most the limit`, async (t) => {
    const kit = await reconcilerKit(dialect, { intervalMs: 60_000 });
    t.after(() => kit.cleanup());
    const knex = kit.conveyor.db.knex;
    const made: number[] = [];
    for (let i = 0; i < 13; i++) made.push((await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: `S-${i}`, title: `task ${i}` })).task.id);
    // Creation queues a job: none of them is still until it is gone.
    await knex('jobs').whereIn('task_id', made).update({ status: 'done' });
    // Ages out of id order, so the oldest-first order is not the walk's order.
    for (const [i, id] of made.entries()) await knex('tasks').where({ id }).update({ stage: 'development', updated_at: 1_000 + ((i * 7) % 13) });
    const [ended, blocked, stopped, busy, fresh, human] = [made[0]!, made[3]!, made[4]!, made[6]!, made[8]!, made[11]!];
    await knex('tasks').where({ id: ended }).update({ stage: 'done' });
    await knex('tasks').where({ id: blocked }).update({ blocked_reason: 'over budget', blocked_at: 1 });
    await knex('tasks').where({ id: stopped }).update({ cancel_requested_at: 1 });
    await knex('jobs').where({ task_id: busy }).update({ status: 'running' });
    await knex('tasks').where({ id: fresh }).update({ updated_at: 9_999 });
    await knex('tasks').where({ id: human }).update({ stage: 'analysis' });
    const expected = made
      .filter((id) => ![ended, blocked, stopped, busy, fresh, human].includes(id))
      .map((id) => ({ id, updatedAt: 1_000 + ((made.indexOf(id) * 7) % 13) }))
      .sort((a, b) => a.updatedAt - b.updatedAt)
      .map((s) => s.id);

    const base = { now: 5_000, stillForMs: 1_000, skipStages: ['analysis'] };
    // Pages of 2 over 12 live tasks: six reads, each boundary crossed.
    const all = await stillTasks(knex, { ...base, limit: 100, pageSize: 2 });
    assert.deepEqual(all.map((s) => s.id), expected);
    assert.ok(all.every((s) => s.repo === 'acme/app' && s.stage === 'development'));
    assert.deepEqual((await stillTasks(knex, { ...base, limit: 100 })).map((s) => s.id), expected, 'one page or many: the same tasks');
    assert.deepEqual((await stillTasks(knex, { ...base, limit: 3, pageSize: 2 })).map((s) => s.id), expected.slice(0, 3), 'the limit keeps the oldest');
    // An aborted tick stops reading; what it read so far is all it returns.
    const aborted = new AbortController();
    aborted.abort();
    assert.ok((await stillTasks(knex, { ...base, limit: 100, pageSize: 2, signal: aborted.signal })).length <= 2);
  });
}
