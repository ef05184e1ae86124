import type { Migration } from '../migration.js';

/**
 * Recovery that survives any host: a running job carries a lease in database time
 * (`lease_expires_at`, extended by every heartbeat), so any host can tell a dead
 * host's job by the one clock they share; `recoveries` counts the times a job was
 * taken back from a host that died running it (a job that kills its host every
 * time must not loop for ever); `resume_attempt` names the attempt whose recorded
 * exit the next attempt finishes from instead of running the agent again.
 * Webhook deliveries are claimed like jobs: an `owner` and a lease.
 */
export const coreJobFencing: Migration = {
  name: 'core/0009_job_fencing',
  async up(knex) {
    await knex.schema.alterTable('jobs', (t) => {
      t.bigInteger('lease_expires_at').nullable();
      t.integer('recoveries').notNullable().defaultTo(0);
      t.integer('resume_attempt').nullable();
    });
    // The expiry sweep reads only running jobs, by lease.
    await knex.raw(`CREATE INDEX jobs_lease_expiry ON jobs (lease_expires_at) WHERE status = 'running'`);
    await knex.schema.alterTable('webhook_inbox', (t) => {
      t.string('owner', 200).nullable();
      t.bigInteger('lease_expires_at').nullable();
    });
    // The retention daemon deletes by age among processed rows.
    await knex.raw(`CREATE INDEX webhook_inbox_retention ON webhook_inbox (processed_at) WHERE status <> 'received'`);
  },
};
