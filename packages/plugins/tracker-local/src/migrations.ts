import type { Migration } from '@conveyor/core';

/** The local tracker's own tables: issues, their comments and status history. */
export const trackerLocalMigrations: Migration[] = [
  {
    name: 'tracker-local/0001_issues',
    async up(knex) {
      await knex.schema.createTable('local_issues', (t) => {
        t.increments('id').primary();
        t.string('repo', 200).notNullable();
        t.text('title').notNullable();
        t.text('description').notNullable().defaultTo('');
        t.string('status', 64).notNullable();
        t.bigInteger('created_at').notNullable();
        t.bigInteger('updated_at').notNullable();
        t.index(['repo', 'status'], 'local_issues_repo_status');
      });
      await knex.schema.createTable('local_issue_events', (t) => {
        t.increments('id').primary();
        t.integer('issue_id').notNullable().references('id').inTable('local_issues').onDelete('CASCADE');
        t.string('kind', 16).notNullable();
        t.text('body').notNullable();
        t.bigInteger('at').notNullable();
        t.index(['issue_id', 'id'], 'local_issue_events_issue');
      });
    },
  },
  {
    // Keys that make a repeated call a no-op: `idem_key` on a comment (Conveyor's
    // effect key: a comment re-posted after a crash lands once); `request_key` on an
    // issue (the `Idempotency-Key` of `POST /tasks`: a client's retry files nothing new).
    name: 'tracker-local/0002_idempotency_keys',
    async up(knex) {
      await knex.schema.alterTable('local_issue_events', (t) => {
        t.string('idem_key', 255).nullable();
        t.unique(['idem_key'], { indexName: 'local_issue_events_idem_key' });
      });
      await knex.schema.alterTable('local_issues', (t) => {
        t.string('request_key', 255).nullable();
        t.unique(['request_key'], { indexName: 'local_issues_request_key' });
      });
    },
  },
];
