/**
 * @conveyor/core — the domain of Conveyor: plugin API, pipeline and stage engine,
 * quality-gate registry, tasks, queue and worker, persistence, events, config.
 */
import 'reflect-metadata';

export * from './errors.js';
export * from './domain.js';
export * from './tokens.js';
export * from './logger.js';
export * from './conveyor.js';
export * from './intake/intake.js';
export * from './intake/webhook-inbox.js';
export * from './intake/delivery-context.js';

export * from './config/core-schema.js';
export * from './config/resolve-config.js';
export * from './config/schema-walk.js';
export * from './config/load-config-file.js';
export * from './config/resolve-paths.js';

export * from './events/event-map.js';
export * from './events/event-bus.js';

export * from './persistence/database.js';
export * from './persistence/migration.js';
export * from './persistence/local-state.js';
export * from './persistence/ports.js';
export { coreMigrations } from './persistence/migrations/core-0001-init.js';
export { buildClaimSql } from './persistence/knex/claim-sql.js';
export { KnexTaskStore } from './persistence/knex/knex-task-store.js';
export { KnexJobStore } from './persistence/knex/knex-job-store.js';
export { KnexAgentRunStore } from './persistence/knex/knex-agent-run-store.js';
export { KnexCiStatusStore } from './persistence/knex/knex-ci-status-store.js';
export { KnexInboxStore } from './persistence/knex/knex-inbox-store.js';
export { KnexLeaseStore } from './persistence/knex/knex-lease-store.js';

export * from './pipeline/gate.js';
export * from './pipeline/gate-registry.js';
export * from './pipeline/pipeline.js';
export * from './pipeline/default-gates.js';
export * from './pipeline/stage-engine.js';
export * from './pipeline/stage-hooks.js';

export * from './plugin/define-plugin.js';
export * from './plugin/plugin-context.js';
export * from './plugin/resolve-order.js';
export * from './plugin/route.js';
export * from './plugin/route-access.js';
export * from './plugin/daemon.js';
export * from './plugin/extensions.js';

export * from './ports/agent-runner.js';
export * from './ports/artifact-reader.js';
export * from './ports/forge.js';
export * from './ports/notifier.js';
export * from './ports/tracker.js';
export * from './ports/workspace.js';
export * from './ports/ports.js';
export * from './ports/canceller.js';
export * from './ports/merge-pin.js';
export * from './deploy/deploy-status.js';
export * from './deploy/deploy-confirm.js';

export * from './queue/claim-clause.js';
export * from './queue/claim-clause-registry.js';
export * from './queue/backoff.js';
export * from './queue/finalizers.js';
export * from './queue/job-executor.js';
export * from './queue/job-finisher.js';
export * from './queue/job-recovery.js';
export * from './queue/prompt.js';
export * from './queue/worker.js';
export * from './queue/pg-wakeup.js';

export * from './tasks/naming.js';
export * from './tasks/task-service.js';
export * from './tasks/live-task-pages.js';
export * from './tasks/tombstone.js';
export * from './tasks/task-retry.js';
export * from './budget/budget.js';
export * from './budget/budget-service.js';
export * from './budget/budget-explainer.js';
export * from './tasks/task-creation-hooks.js';
export * from './waiting/wait-reason.js';
export * from './waiting/wait-explainers.js';
export * from './waiting/waiting-service.js';
export * from './waiting/gate-wait-text.js';
export { KnexGateWaitStore } from './persistence/knex/knex-gate-wait-store.js';

export * from './util/safe-loop.js';
export * from './util/fault-point.js';
export * from './util/process-group.js';
export * from './util/process-tree.js';
export * from './util/configuration-failure.js';
export * from './util/private-paths.js';
export * from './usage/usage.js';
export * from './agent/permission-denials.js';
export * from './workspace/git.js';
export * from './workspace/agent-git.js';
export * from './sandbox/agent-sandbox.js';
export { bubblewrapArgs, findBwrap, type SandboxView } from './sandbox/bubblewrap.js';
export * from './workspace/git-workspace.js';
export * from './workspace/front-matter.js';
export * from './util/keyed-mutex.js';
export * from './finalize/core-finalizers.js';
export * from './finalize/merge-gate-core.js';
export * from './finalize/merge-recovery.js';
export * from './tracker-sync.js';
export * from './persistence/migrations/core-0002-pull-requests.js';
export * from './agent/claude-result.js';
export type { Knex } from 'knex';
export * from './prompts/role-templates.js';
export * from './prompts/template-prompt-builder.js';
export { createAtomically, isBareRepository } from './workspace/atomic-repo.js';
