import type { Migration } from '@conveyor/core';

/**
 * The post-deploy windows, one row per deployed task. The window lives here, not in
 * memory, so a host that restarts mid-window goes on counting where it stopped.
 * The loop reads open windows that are due: `(status, next_check_at)`.
 */
export const postDeployMonitorMigrations: Migration[] = [
  {
    name: 'post-deploy-monitor/0001_windows',
    async up(knex) {
      await knex.schema.createTable('post_deploy_windows', (t) => {
        t.integer('task_id').primary();
        t.string('repo', 200).notNullable();
        t.bigInteger('armed_at').notNullable();
        t.bigInteger('ends_at').notNullable();
        t.bigInteger('next_check_at').notNullable();
        /** `active`, then one of `healthy`, `degraded`, `cancelled`. */
        t.string('status', 16).notNullable().defaultTo('active');
        /** Consecutive failed checks; a healthy check resets it. */
        t.integer('failures').notNullable().defaultTo(0);
        t.integer('checks').notNullable().defaultTo(0);
        t.text('last_error').nullable();
        t.bigInteger('closed_at').nullable();
        t.index(['status', 'next_check_at'], 'post_deploy_windows_due');
      });
    },
  },
];
