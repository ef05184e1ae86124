import type { Migration } from '../migration.js';
import { corePullRequests } from './core-0002-pull-requests.js';
import { coreGateWaits } from './core-0003-gate-waits.js';
import { coreBudgets } from './core-0004-budgets.js';
import { coreAgentRunDiagnostics } from './core-0005-agent-run-diagnostics.js';
import { coreDeployPhases } from './core-0007-deploy-phases.js';
import { coreOutbox } from './core-0008-outbox.js';
import { coreJobFencing } from './core-0009-job-fencing.js';
import { coreLiveTaskOrder } from './core-0011-live-task-order.js';

/**
 * Core tables. Timestamps are epoch milliseconds (bigint) on both databases, so
 * SQLite and PostgreSQL compare and sort them the same way.
 *
 * The indexes that carry invariants sit next to their tables:
 * - `tasks_issue_live_unique`: one live task per (repo, tracker issue); creation
 *   relies on it. A done or cancelled task frees its issue for a fresh task.
 * - `jobs_one_active_per_task`: at most one queued/running job per task.
 * - `jobs_claim_order`: the claim walks this index in (available_at, id) order,
 *   so it never sorts the candidates (an `ORDER BY id` under a range on
 *   available_at sorted every queued row on every claim).
 */
export const coreInit: Migration = {
  name: 'core/0001_init',
  async up(knex) {
    await knex.schema.createTable('tasks', (t) => {
      t.increments('id').primary();
      t.string('repo', 200).notNullable();
      t.string('tracker_issue_id', 200).notNullable();
      t.string('work_item_id', 64).notNullable();
      t.text('title').notNullable().defaultTo('');
      t.text('description').notNullable().defaultTo('');
      t.string('stage', 64).notNullable();
      t.string('branch', 255).notNullable();
      t.boolean('branch_cut').notNullable().defaultTo(true);
      t.string('human_verdict', 16).nullable();
      t.bigInteger('human_review_started_at').nullable();
      t.bigInteger('human_review_ended_at').nullable();
      t.integer('developer_retries').notNullable().defaultTo(0);
      t.bigInteger('created_at').notNullable();
      t.bigInteger('updated_at').notNullable();
      t.bigInteger('cancel_requested_at').nullable();
      t.bigInteger('cancelled_at').nullable();
      t.string('tracker_message_id', 64).nullable();
      t.text('blocked_reason').nullable();
      t.bigInteger('blocked_at').nullable();
      t.unique(['repo', 'work_item_id'], { indexName: 'tasks_work_item_unique' });
      t.unique(['repo', 'branch'], { indexName: 'tasks_branch_unique' });
    });
    await knex.raw(
      `CREATE UNIQUE INDEX tasks_issue_live_unique ON tasks (repo, tracker_issue_id) WHERE stage NOT IN ('done', 'cancelled')`,
    );
    await knex.raw(`CREATE INDEX tasks_issue ON tasks (repo, tracker_issue_id, id)`);
    // The reconciler and reaper read live tasks only; this index keeps their
    // cost proportional to live tasks, not to all tasks ever made.
    await knex.raw(
      `CREATE INDEX tasks_live ON tasks (stage, updated_at) WHERE stage NOT IN ('done', 'cancelled')`,
    );
    await knex.raw(`CREATE INDEX tasks_repo_live ON tasks (repo, id) WHERE stage NOT IN ('done', 'cancelled')`);

    await knex.schema.createTable('task_transitions', (t) => {
      t.increments('id').primary();
      t.integer('task_id').notNullable().references('id').inTable('tasks').onDelete('CASCADE');
      t.string('from_stage', 64).notNullable();
      t.string('to_stage', 64).notNullable();
      t.text('reason').notNullable().defaultTo('');
      t.bigInteger('at').notNullable();
      t.index(['task_id', 'id'], 'task_transitions_task');
    });

    await knex.schema.createTable('jobs', (t) => {
      t.increments('id').primary();
      t.integer('task_id').notNullable().references('id').inTable('tasks').onDelete('CASCADE');
      t.string('stage', 64).notNullable();
      t.string('kind', 16).notNullable();
      t.string('role', 64).nullable();
      t.string('status', 16).notNullable();
      t.integer('attempt').notNullable().defaultTo(0);
      t.integer('retries').notNullable().defaultTo(0);
      t.integer('defer_count').notNullable().defaultTo(0);
      t.bigInteger('available_at').notNullable();
      t.bigInteger('created_at').notNullable();
      t.bigInteger('started_at').nullable();
      t.bigInteger('heartbeat_at').nullable();
      t.bigInteger('finished_at').nullable();
      t.string('host_id', 200).nullable();
      t.integer('pid').nullable();
      t.text('reason').nullable();
      t.text('error').nullable();
      t.index(['task_id', 'id'], 'jobs_task');
    });
    await knex.raw(
      `CREATE UNIQUE INDEX jobs_one_active_per_task ON jobs (task_id) WHERE status IN ('queued', 'running')`,
    );
    await knex.raw(`CREATE INDEX jobs_claim_order ON jobs (available_at, id) WHERE status = 'queued'`);
    await knex.raw(`CREATE INDEX jobs_running ON jobs (host_id, id) WHERE status = 'running'`);

    await knex.schema.createTable('agent_runs', (t) => {
      t.increments('id').primary();
      t.integer('job_id').notNullable().references('id').inTable('jobs').onDelete('CASCADE');
      t.integer('task_id').notNullable().references('id').inTable('tasks').onDelete('CASCADE');
      t.string('stage', 64).notNullable();
      t.string('role', 64).notNullable();
      t.integer('attempt').notNullable();
      t.integer('pid').nullable();
      t.bigInteger('started_at').notNullable();
      t.integer('exit_code').nullable();
      t.bigInteger('finished_at').nullable();
      t.text('result').nullable();
      t.bigInteger('input_tokens').nullable();
      t.bigInteger('output_tokens').nullable();
      t.bigInteger('cache_read_tokens').nullable();
      t.bigInteger('cache_creation_tokens').nullable();
      t.double('cost_usd').nullable();
      t.string('model', 128).nullable();
      t.text('log_path').nullable();
      // One agent process per job attempt: a replayed attempt cannot run twice.
      t.unique(['job_id', 'attempt'], { indexName: 'agent_runs_attempt_unique' });
      t.index(['task_id', 'stage', 'id'], 'agent_runs_task_stage');
    });

    await knex.schema.createTable('ci_statuses', (t) => {
      t.increments('id').primary();
      t.string('repo', 200).notNullable();
      t.string('sha', 64).notNullable();
      t.string('branch', 255).nullable();
      t.string('context', 255).notNullable();
      t.string('state', 16).notNullable();
      t.text('target_url').nullable();
      t.bigInteger('updated_at').notNullable();
      t.unique(['repo', 'sha', 'context'], { indexName: 'ci_statuses_context_unique' });
      t.index(['repo', 'branch'], 'ci_statuses_branch');
    });

    await knex.schema.createTable('webhook_inbox', (t) => {
      t.increments('id').primary();
      t.string('source', 64).notNullable();
      t.string('delivery_key', 255).notNullable();
      t.text('payload').notNullable();
      t.string('status', 16).notNullable();
      t.text('error').nullable();
      t.bigInteger('received_at').notNullable();
      t.bigInteger('processed_at').nullable();
      t.unique(['source', 'delivery_key'], { indexName: 'webhook_inbox_delivery_unique' });
    });
    await knex.raw(`CREATE INDEX webhook_inbox_unprocessed ON webhook_inbox (id) WHERE status = 'received'`);

    await knex.schema.createTable('work_item_sequences', (t) => {
      t.string('repo', 200).notNullable();
      t.string('prefix', 32).notNullable();
      t.integer('next_value').notNullable();
      t.primary(['repo', 'prefix']);
    });

    await knex.schema.createTable('merge_leases', (t) => {
      t.string('repo', 200).primary();
      t.integer('holder_task_id').notNullable();
      t.string('host_id', 200).notNullable();
      t.integer('pid').notNullable();
      t.bigInteger('acquired_at').notNullable();
      t.bigInteger('expires_at').notNullable();
    });
  },
};

export const coreMigrations: readonly Migration[] = [coreInit, corePullRequests, coreGateWaits, coreBudgets, coreAgentRunDiagnostics, coreDeployPhases, coreOutbox, coreJobFencing, coreLiveTaskOrder];
