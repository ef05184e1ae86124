import type { Migration } from '@conveyor/core';

/** Pull requests of the embedded forge (a "PR" is a recorded merge request). */
export const forgeGitMigrations: Migration[] = [
  {
    name: 'forge-git/0001_pull_requests',
    async up(knex) {
      await knex.schema.createTable('forge_git_pull_requests', (t) => {
        t.increments('id').primary();
        t.string('repo', 200).notNullable();
        t.integer('number').notNullable();
        t.string('head', 255).notNullable();
        t.string('base', 255).notNullable();
        t.text('title').notNullable();
        t.text('body').notNullable().defaultTo('');
        t.string('state', 16).notNullable();
        t.boolean('merged').notNullable().defaultTo(false);
        t.string('head_sha', 64).nullable();
        t.string('merge_sha', 64).nullable();
        t.bigInteger('created_at').notNullable();
        t.bigInteger('updated_at').notNullable();
        t.bigInteger('merged_at').nullable();
        t.unique(['repo', 'number'], { indexName: 'forge_git_pr_number' });
      });
      // Like Gitea's 409: one open PR per head branch.
      await knex.raw(`CREATE UNIQUE INDEX forge_git_pr_open_head ON forge_git_pull_requests (repo, head) WHERE state = 'open'`);
    },
  },
];
