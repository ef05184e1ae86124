import type { Migration } from '@conveyor/core';

/**
 * The journal. Attribution columns (agent, model, run) are nullable: a manual
 * lesson, a merge hold or a degraded deploy has no agent run behind it. The
 * `(slug, task_id, created_at)` index serves the de-duplication read of the
 * auto-detectors.
 */
export const lessonsMigrations: Migration[] = [
  {
    name: 'lessons/0001_lessons',
    async up(knex) {
      await knex.schema.createTable('lessons', (t) => {
        t.increments('id').primary();
        t.string('slug', 255).notNullable();
        t.text('title').notNullable();
        t.text('body').notNullable().defaultTo('');
        t.string('source', 16).notNullable();
        t.string('kind', 64).notNullable();
        t.string('repo', 200).nullable();
        t.integer('task_id').nullable();
        t.string('stage', 64).nullable();
        t.string('status', 16).notNullable().defaultTo('open');
        t.string('agent', 64).nullable();
        t.string('model', 128).nullable();
        t.integer('run_id').nullable();
        t.bigInteger('created_at').notNullable();
        t.bigInteger('updated_at').notNullable();
        t.index(['slug', 'task_id', 'created_at'], 'lessons_dedupe');
        t.index(['repo', 'kind', 'id'], 'lessons_repo_kind');
      });
    },
  },
];
