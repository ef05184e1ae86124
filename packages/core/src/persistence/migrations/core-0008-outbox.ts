import type { Migration } from '../migration.js';

/**
 * The outbox: effects that must happen after a state change (the advance after a
 * job's finish, the tracker's status at deploy and done, the cost summary, the
 * worktree's removal), written in the same transaction as the change, so a crash
 * between the change and its effect leaves a row that the next start completes.
 *
 * - `outbox_key_unique`: one row per idempotency key (task, stage, attempt,
 *   effect); inserting it twice is a no-op, so a replayed finalizer adds nothing.
 * - `outbox_due`: the dispatcher walks pending rows in (available_at, id) order.
 */
export const coreOutbox: Migration = {
  name: 'core/0008_outbox',
  async up(knex) {
    await knex.schema.createTable('outbox', (t) => {
      t.increments('id').primary();
      t.integer('task_id').nullable();
      t.string('effect', 64).notNullable();
      t.string('key', 255).notNullable();
      t.text('payload').notNullable();
      t.string('status', 16).notNullable().defaultTo('pending');
      t.integer('attempts').notNullable().defaultTo(0);
      t.bigInteger('available_at').notNullable();
      t.string('claimed_by', 255).nullable();
      t.bigInteger('claimed_until').nullable();
      t.text('last_error').nullable();
      t.bigInteger('created_at').notNullable();
      t.bigInteger('done_at').nullable();
      t.unique(['key'], { indexName: 'outbox_key_unique' });
      t.index(['status', 'available_at', 'id'], 'outbox_due');
      t.index(['task_id'], 'outbox_task');
    });
  },
};
