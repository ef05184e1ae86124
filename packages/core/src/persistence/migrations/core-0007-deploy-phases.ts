import type { Migration } from '../migration.js';

/**
 * The deploy phases: `deploy_confirmed_at` is when a person confirmed the deploy
 * (`deploy.confirm`). The deploy-confirm claim clause reads it from the task row the
 * claim already joins, so no index is needed; entering deploy clears it.
 */
export const coreDeployPhases: Migration = {
  name: 'core/0007_deploy_phases',
  async up(knex) {
    await knex.schema.alterTable('tasks', (t) => {
      t.bigInteger('deploy_confirmed_at').nullable();
    });
  },
};
