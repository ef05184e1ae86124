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
];
