import type { Migration } from '../migration.js';

/**
 * Cost budgets on the task. `budget_usd` and `stage_budgets` (JSON object of
 * stage → USD) override the configured budgets for one task, and are what a raise
 * writes. `blocked_kind` says what kind of block `blocked_reason` describes
 * (`budget`, or null for any other), so a raise can lift exactly its own block by
 * compare-and-set and never a block it knows nothing about.
 */
export const coreBudgets: Migration = {
  name: 'core/0004_budgets',
  async up(knex) {
    await knex.schema.alterTable('tasks', (t) => {
      t.double('budget_usd').nullable();
      t.text('stage_budgets').nullable();
      t.string('blocked_kind', 32).nullable();
    });
  },
};
