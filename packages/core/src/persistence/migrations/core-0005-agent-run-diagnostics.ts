import type { Migration } from '../migration.js';

/**
 * Agent run diagnostics: the tool calls the agent was refused, as JSON. A run that
 * says "success" with its writes denied did nothing; the record must say so.
 */
export const coreAgentRunDiagnostics: Migration = {
  name: 'core/0005_agent_run_diagnostics',
  async up(knex) {
    await knex.schema.alterTable('agent_runs', (t) => {
      t.text('permission_denials').nullable();
    });
  },
};
