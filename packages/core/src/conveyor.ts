import 'reflect-metadata';
import path from 'node:path';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { resolveConfig, type ConveyorConfig } from './config/resolve-config.js';
import { ConveyorError, toError } from './errors.js';
import { EventBus } from './events/event-bus.js';
import { createLogger, type Logger } from './logger.js';
import { openDatabase, type Database } from './persistence/database.js';
import { secureLocalState } from './persistence/local-state.js';
import { runMigrations } from './persistence/migration.js';
import { coreMigrations } from './persistence/migrations/core-0001-init.js';
import type { Stores } from './persistence/ports.js';
import { KnexAgentRunStore } from './persistence/knex/knex-agent-run-store.js';
import { KnexCiStatusStore } from './persistence/knex/knex-ci-status-store.js';
import { KnexInboxStore } from './persistence/knex/knex-inbox-store.js';
import { KnexJobStore } from './persistence/knex/knex-job-store.js';
import { KnexLeaseStore } from './persistence/knex/knex-lease-store.js';
import { KnexTaskStore } from './persistence/knex/knex-task-store.js';
import { KnexGateWaitStore } from './persistence/knex/knex-gate-wait-store.js';
import { KnexOutboxStore } from './persistence/knex/knex-outbox-store.js';
import { Outbox } from './outbox/outbox.js';
import { registerAdvanceEffect } from './outbox/advance-effect.js';
import { registerApprovalRequest } from './outbox/approval-request-effect.js';
import { TaskCreationHooks } from './tasks/task-creation-hooks.js';
import { WaitExplainers } from './waiting/wait-explainers.js';
import { Waiting } from './waiting/waiting-service.js';
import { mergeLeaseExplainer } from './waiting/merge-lease-explainer.js';
import { budgetStopExplainer } from './budget/budget-explainer.js';
import { DEFAULT_GATES } from './pipeline/default-gates.js';
import { GateRegistry } from './pipeline/gate-registry.js';
import { DEFAULT_PIPELINE, validatePipeline, type Pipeline } from './pipeline/pipeline.js';
import { StageEngine } from './pipeline/stage-engine.js';
import { StageHooks } from './pipeline/stage-hooks.js';
import type { ConveyorPlugin } from './plugin/define-plugin.js';
import { Extensions } from './plugin/extensions.js';
import { createPluginContext } from './plugin/plugin-context.js';
import { resolvePluginOrder } from './plugin/resolve-order.js';
import type { OwnedRoute } from './plugin/route.js';
import { Ports } from './ports/ports.js';
import { ClaimClauseRegistry } from './queue/claim-clause-registry.js';
import { Finalizers } from './queue/finalizers.js';
import { JobExecutor } from './queue/job-executor.js';
import { JobFinisher } from './queue/job-finisher.js';
import { JobRecovery } from './queue/job-recovery.js';
import { Worker } from './queue/worker.js';
import { TaskService } from './tasks/task-service.js';
import { BudgetService } from './budget/budget-service.js';
import { validateBudgets } from './budget/validate-budgets.js';
import { CoreTokens, systemClock, type Clock } from './tokens.js';
import { Intake } from './intake/intake.js';
import { TaskRetry } from './tasks/task-retry.js';
import { WebhookInbox } from './intake/webhook-inbox.js';
import { LogNotifier } from './ports/notifier.js';
import { GitWorkspace } from './workspace/git-workspace.js';
import { WorkspaceRootLock } from './workspace/workspace-root-lock.js';
import { stableHostId } from './util/host-id.js';
import { AgentSandbox } from './sandbox/agent-sandbox.js';
import { TemplatePromptBuilder } from './prompts/template-prompt-builder.js';
import { coreFinalizers } from './finalize/core-finalizers.js';
import { prMergedGate } from './finalize/merge-gate-core.js';
import { redriveInitiatedMerges } from './finalize/merge-recovery.js';
import { installTrackerSync } from './tracker-sync.js';
import { DeployPhaseStatus } from './deploy/deploy-status.js';
import { deployConfirmClause } from './deploy/deploy-confirm.js';

export interface CreateConveyorOptions {
  /** Raw configuration (validated here) or an already resolved one. */
  config?: unknown;
  /** Candidate plugins; `plugins.<name>.enabled: false` leaves one out entirely. */
  plugins?: readonly ConveyorPlugin[];
  logger?: Logger;
  pipeline?: Pipeline;
  clock?: Clock;
  /** Environment for `${VAR}` and `CONVEYOR_…` overrides; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * The directory relative paths in `config` resolve against (the config file's);
   * defaults to the working directory. Plugins read it as `ctx.baseDir`.
   */
  baseDir?: string;
  /** Bindings applied before plugins register (the test kit's fakes). */
  bindings?: (container: DependencyContainer) => void;
}

export interface QueueSnapshot {
  counts: Record<string, number>;
  /** Stored effects by status (`pending`, `done`, `failed`): what follows state changes, and what a crash left. */
  effects: Record<string, number>;
  running: { jobId: number; taskId: number; stage: string; role: string | null; hostId: string | null; pid: number | null; startedAt: string | null }[];
  plugins: Record<string, unknown>;
}

/** One composed Conveyor instance. */
export interface Conveyor {
  readonly config: ConveyorConfig;
  readonly container: DependencyContainer;
  readonly events: EventBus;
  readonly store: Stores;
  readonly db: Database;
  readonly engine: StageEngine;
  readonly intake: Intake;
  /** The one writer of deploy-phase tracker statuses (guarded when deploy-status-guard is on). */
  readonly deployStatus: DeployPhaseStatus;
  /** Cost budgets: a task's spend and budgets, and the raise that resumes a budget stop. */
  readonly budgets: BudgetService;
  /** A person's retry of a blocked (or failed-gate) task: a fresh retry budget, one job queued. */
  readonly retry: TaskRetry;
  /** Accepted webhook deliveries (recorded, then processed after the reply). */
  readonly webhooks: WebhookInbox;
  readonly worker: Worker;
  readonly routes: readonly OwnedRoute[];
  readonly extensions: Extensions;
  readonly pipeline: Pipeline;
  readonly gates: GateRegistry;
  readonly clauses: ClaimClauseRegistry;
  readonly hooks: StageHooks;
  readonly finalizers: Finalizers;
  /** What a task waits for, from stored state only (`GET /tasks/:id`, the reconciler). */
  readonly waiting: Waiting;
  /** Enabled plugins in start order. */
  readonly plugins: readonly string[];
  /** Effects stored with the state changes that cause them (run now, and again after a crash). */
  readonly outbox: Outbox;
  /** Migrations this composition applied (empty when the database was up to date). */
  readonly migrationsRun: readonly string[];
  readonly hostId: string;
  start(): Promise<void>;
  /**
   * Stops accepting webhook deliveries and processes those already accepted, stops
   * the worker (running jobs may finish until `deadlineMs`, default
   * `worker.stopDeadlineMs`), daemons (reverse order) and plugins (LIFO), closes the
   * database. Safe to call twice; the first call's deadline wins.
   */
  stop(options?: { deadlineMs?: number }): Promise<void>;
  snapshot(): Promise<QueueSnapshot>;
}

/**
 * Composes an instance: validate config → order plugins → make the data directory
 * and database files private (0700/0600) → open the database →
 * run migrations (core, then plugins) → register plugins → freeze registries.
 * Nothing is started until `start()`.
 */
export async function createConveyor(options: CreateConveyorOptions = {}): Promise<Conveyor> {
  const all = options.plugins ?? [];
  const baseDir = path.resolve(options.baseDir ?? process.cwd());
  const config = resolveConfig(options.config ?? {}, all, { env: options.env ?? process.env, baseDir });
  const enabled = all.filter((p) => config.plugins[p.name]?.enabled !== false);
  const disabled = all.filter((p) => !enabled.includes(p)).map((p) => p.name);
  const ordered = resolvePluginOrder(enabled, disabled);
  const logger = options.logger ?? createLogger();
  const clock = options.clock ?? systemClock;
  const pipeline = validatePipeline(options.pipeline ?? DEFAULT_PIPELINE);
  validateBudgets(config.budgets, pipeline);
  secureLocalState(config, logger);
  // Stable across restarts — also of a container, whose hostname changes while its
  // data directory stays — so the next start recognises this host's orphans at once.
  const hostId = config.instance.hostId ?? stableHostId(config.instance.dataDir);
  const db = await openDatabase(config.database);
  let migrationsRun: string[];
  try {
    migrationsRun = await runMigrations(db.knex, db.dialect, [...coreMigrations, ...ordered.flatMap((p) => p.migrations ?? [])]);
  } catch (err) {
    await db.close();
    throw err;
  }

  // One child container per instance: two instances in a process share nothing.
  const c = rootContainer.createChildContainer();
  const events = new EventBus(logger);
  const gates = new GateRegistry();
  const clauses = new ClaimClauseRegistry();
  const hooks = new StageHooks();
  const finalizers = new Finalizers();
  const extensions = new Extensions();
  const creationHooks = new TaskCreationHooks();
  const explainers = new WaitExplainers();
  c.register(CoreTokens.Container, { useValue: c });
  c.register(CoreTokens.TaskCreationHooks, { useValue: creationHooks });
  c.register(CoreTokens.WaitExplainers, { useValue: explainers });
  c.register(CoreTokens.Config, { useValue: config });
  c.register(CoreTokens.Logger, { useValue: logger });
  c.register(CoreTokens.Clock, { useValue: clock });
  c.register(CoreTokens.Events, { useValue: events });
  c.register(CoreTokens.Database, { useValue: db });
  c.register(CoreTokens.HostId, { useValue: hostId });
  c.register(CoreTokens.Pipeline, { useValue: pipeline });
  c.register(CoreTokens.GateRegistry, { useValue: gates });
  c.register(CoreTokens.ClaimClauses, { useValue: clauses });
  c.register(CoreTokens.StageHooks, { useValue: hooks });
  c.register(CoreTokens.Finalizers, { useValue: finalizers });
  c.register(CoreTokens.Ports, { useValue: new Ports(c) });
  c.registerSingleton(CoreTokens.TaskStore, KnexTaskStore);
  c.registerSingleton(CoreTokens.JobStore, KnexJobStore);
  c.registerSingleton(CoreTokens.AgentRunStore, KnexAgentRunStore);
  c.registerSingleton(CoreTokens.CiStatusStore, KnexCiStatusStore);
  c.registerSingleton(CoreTokens.InboxStore, KnexInboxStore);
  c.registerSingleton(CoreTokens.LeaseStore, KnexLeaseStore);
  c.registerSingleton(CoreTokens.GateWaitStore, KnexGateWaitStore);
  c.registerSingleton(CoreTokens.OutboxStore, KnexOutboxStore);
  c.registerSingleton(CoreTokens.StageEngine, StageEngine);
  c.registerSingleton(CoreTokens.TaskService, TaskService);
  c.registerSingleton(CoreTokens.Budgets, BudgetService);
  c.registerSingleton(CoreTokens.TaskRetry, TaskRetry);
  c.registerSingleton(CoreTokens.JobFinisher, JobFinisher);
  c.registerSingleton(CoreTokens.JobExecutor, JobExecutor);
  c.registerSingleton(CoreTokens.JobRecovery, JobRecovery);
  c.registerSingleton(CoreTokens.Worker, Worker);
  c.registerSingleton(CoreTokens.Intake, Intake);
  c.register(CoreTokens.Notifier, { useValue: new LogNotifier(logger) });
  const ports = c.resolve<Ports>(CoreTokens.Ports);
  // Core's git workspace is the default; a plugin or the test kit may bind another.
  const workspace = new GitWorkspace({
    root: config.workspaces.root,
    repos: config.repos,
    pipeline,
    author: { name: config.workspaces.gitAuthorName, email: config.workspaces.gitAuthorEmail },
    logger,
  });
  c.register(CoreTokens.Workspace, { useValue: workspace });
  const localPaths = Object.values(config.repos).flatMap((r) => (r.url && !/^[a-z][a-z0-9+.-]*:\/\/|^[^/]+@[^/]+:/i.test(r.url.replace(/^file:\/\//, '')) ? [path.resolve(r.url.replace(/^file:\/\//, ''))] : []));
  const sandbox = new AgentSandbox({
    mode: config.workspaces.sandbox,
    bind: config.workspaces.sandboxBind,
    // Never visible to an agent, even under a directory the sandbox shows.
    hidden: [config.instance.dataDir, config.workspaces.root, ...localPaths].map((p) => path.resolve(p)),
    logger,
  });
  c.register(CoreTokens.AgentSandbox, { useValue: sandbox });
  c.register(CoreTokens.PromptBuilder, { useValue: new TemplatePromptBuilder(pipeline, config.repos, baseDir) });
  c.register(CoreTokens.ArtifactReader, { useValue: workspace });
  options.bindings?.(c);

  const store: Stores = {
    tasks: c.resolve(CoreTokens.TaskStore),
    jobs: c.resolve(CoreTokens.JobStore),
    agentRuns: c.resolve(CoreTokens.AgentRunStore),
    ciStatuses: c.resolve(CoreTokens.CiStatusStore),
    inbox: c.resolve(CoreTokens.InboxStore),
    leases: c.resolve(CoreTokens.LeaseStore),
    gateWaits: c.resolve(CoreTokens.GateWaitStore),
    outbox: c.resolve(CoreTokens.OutboxStore),
  };
  const outbox = new Outbox({ store: store.outbox, config, logger, clock, events, hostId });
  c.register(CoreTokens.Outbox, { useValue: outbox });
  explainers.add('core', mergeLeaseExplainer);
  explainers.add('core', budgetStopExplainer);
  const waiting = new Waiting({ stores: store, config, clock, gates, clauses, explainers, logger });
  c.register(CoreTokens.Waiting, { useValue: waiting });

  for (const g of DEFAULT_GATES) gates.register(g);
  gates.register(prMergedGate({ ports, tasks: store.tasks, events, clock }));
  for (const f of coreFinalizers({ ports, tasks: store.tasks, pipeline, config, logger, outbox })) finalizers.add(f);
  const inbox = new WebhookInbox(store.inbox, logger, { hostId, leaseMs: config.intake.leaseMs, sweepIntervalMs: config.intake.sweepIntervalMs, retentionDays: config.intake.retentionDays, now: () => clock.now() });
  c.register(CoreTokens.WebhookInbox, { useValue: inbox });
  const deployStatus = new DeployPhaseStatus({ ports, tasks: store.tasks, config, logger });
  c.register(CoreTokens.DeployPhaseStatus, { useValue: deployStatus });
  c.register(CoreTokens.TrackerSync, { useValue: installTrackerSync({ events, ports, tasks: store.tasks, agentRuns: store.agentRuns, config, pipeline, logger, deployStatus, outbox }) });
  registerAdvanceEffect(outbox, () => c.resolve(CoreTokens.StageEngine));
  registerApprovalRequest(outbox, { tasks: store.tasks, trackerSync: () => c.resolve(CoreTokens.TrackerSync), events });
  const confirmClause = deployConfirmClause(config);
  if (confirmClause) clauses.add('core', confirmClause);

  for (const plugin of all.filter((p) => !enabled.includes(p))) {
    for (const url of plugin.offRoutes ?? []) {
      extensions.routes.push(Object.freeze({ method: 'GET' as const, url, auth: 'none' as const, plugin: plugin.name, description: `plugin "${plugin.name}" is disabled`, handler: async () => ({ status: 200, body: { enabled: false } }) }));
    }
  }
  const takeSnapshot = async (): Promise<QueueSnapshot> => {
    const [counts, running, effects] = await Promise.all([store.jobs.countByStatus(), store.jobs.running(), store.outbox.countByStatus()]);
    const plugins: Record<string, unknown> = {};
    for (const { plugin, block } of extensions.snapshots) {
      try {
        plugins[plugin] = await block();
      } catch (err) {
        // One broken block must not take `GET /queue` down with it.
        plugins[plugin] = { error: toError(err).message };
      }
    }
    return {
      counts,
      effects,
      running: running.map((j) => ({ jobId: j.id, taskId: j.taskId, stage: j.stage, role: j.role, hostId: j.hostId, pid: j.pid, startedAt: j.startedAt?.toISOString() ?? null })),
      plugins,
    };
  };
  const instanceView = { snapshot: takeSnapshot, routes: () => extensions.routes };
  const providers = new Map<unknown, string>();
  for (const plugin of ordered) {
    const ctx = createPluginContext(plugin.name, { instanceConfig: config, baseDir, logger, container: c, stores: store, events, gates, clauses, hooks, finalizers, extensions, inbox, providers, creationHooks, explainers, waiting, instance: instanceView });
    try {
      await plugin.register(ctx);
    } catch (err) {
      await db.close();
      events.removeAllListeners();
      throw new ConveyorError('CONVEYOR_PLUGIN_REGISTER', `plugin "${plugin.name}" failed to register: ${toError(err).message}`, { cause: err });
    }
  }
  try {
    gates.freeze(pipeline);
  } catch (err) {
    await db.close();
    throw err;
  }
  clauses.freeze();
  inbox.freeze();
  hooks.freeze();
  finalizers.freeze();
  creationHooks.freeze();
  explainers.freeze();
  outbox.freeze();

  const worker = c.resolve<Worker>(CoreTokens.Worker);
  let starting: Promise<void> | null = null;
  let stopping: Promise<void> | null = null;
  let workerStarted = false;
  let rootLock: WorkspaceRootLock | null = null;
  const startedDaemons: typeof extensions.daemons = [];
  // Plugins whose start hooks all ran: only their stop hooks run on stop.
  const startedPlugins = new Set<string>();

  const stop = (options: { deadlineMs?: number } = {}): Promise<void> => {
    if (stopping) return stopping;
    stopping = (async () => {
      await starting?.catch(() => undefined);
      // Deliveries already acknowledged are processed before the database closes.
      await inbox.stop();
      if (workerStarted) await worker.stop(options.deadlineMs);
      await outbox.stop();
      for (const { plugin, daemon } of [...startedDaemons].reverse()) {
        try {
          await daemon.stop();
        } catch (err) {
          logger.error({ plugin, daemon: daemon.name, err }, 'daemon failed to stop');
        }
      }
      for (const { plugin, hook } of [...extensions.stopHooks].reverse()) {
        if (!startedPlugins.has(plugin)) continue;
        try {
          await hook();
        } catch (err) {
          logger.error({ plugin, err }, 'plugin stop hook failed');
        }
      }
      for (const d of extensions.listenerDisposers) d.dispose();
      events.removeAllListeners();
      rootLock?.release();
      await db.close();
      c.clearInstances();
    })();
    return stopping;
  };

  const startAll = async (): Promise<void> => {
    const fail = async (plugin: string, what: string, err: unknown): Promise<never> => {
      starting = null; // let stop() proceed without waiting on this very start
      await stop();
      throw new ConveyorError('CONVEYOR_PLUGIN_START', `plugin "${plugin}" failed to ${what}: ${toError(err).message}`, { cause: err });
    };
    for (const name of ordered.map((p) => p.name)) {
      for (const { hook } of extensions.startHooks.filter((h) => h.plugin === name)) {
        try {
          await hook();
        } catch (err) {
          await fail(name, 'start', err);
        }
      }
      startedPlugins.add(name);
    }
    for (const entry of extensions.daemons) {
      try {
        await entry.daemon.start();
      } catch (err) {
        await fail(entry.plugin, `start daemon "${entry.daemon.name}"`, err);
      }
      startedDaemons.push(entry);
    }
    // Effects a crash left behind (an advance after a finish, Done on the tracker)
    // run before new work is claimed.
    await outbox.start();
    if (config.worker.enabled) {
      // One host per workspaces root: refused here, before any git runs in it.
      try {
        rootLock = WorkspaceRootLock.acquire(config.workspaces.root, { hostId, logger });
      } catch (err) {
        starting = null;
        await stop();
        throw err;
      }
      // Decided before the first agent runs: a broken bubblewrap fails the start, a missing one warns once.
      // `auto` never fails the start: its trial run (two processes) goes on while the host
      // comes up, and the first agent run waits for its answer.
      if (config.workspaces.sandbox === 'auto') {
        void sandbox.resolve().catch((err: unknown) => logger.warn({ err: toError(err) }, 'the agent sandbox could not be decided at start; the first agent run tries again'));
      } else {
        try {
          await sandbox.resolve();
        } catch (err) {
          starting = null;
          await stop();
          throw err;
        }
      }
      await worker.recoverOrphans();
      worker.start();
      workerStarted = true;
    }
    // A crash between acknowledging a webhook and processing it: process it now.
    await inbox.replay();
    // A crash during the forge's merge call: ask the forge, complete or merge once.
    await redriveInitiatedMerges({ tasks: store.tasks, jobs: store.jobs, engine: c.resolve(CoreTokens.StageEngine), pipeline, logger }, 'start-up: a merge Conveyor started was never seen to end');
    // Deliveries of a host that dies later, and retention, without waiting for a restart.
    inbox.start();
    logger.info({ hostId, plugins: ordered.map((p) => p.name), database: db.dialect }, 'conveyor started');
  };

  const instance: Conveyor = {
    config,
    container: c,
    events,
    store,
    db,
    engine: c.resolve(CoreTokens.StageEngine),
    intake: c.resolve(CoreTokens.Intake),
    deployStatus,
    budgets: c.resolve(CoreTokens.Budgets),
    retry: c.resolve(CoreTokens.TaskRetry),
    webhooks: inbox,
    worker,
    routes: extensions.routes,
    extensions,
    pipeline,
    gates,
    clauses,
    hooks,
    finalizers,
    waiting,
    outbox,
    plugins: ordered.map((p) => p.name),
    migrationsRun,
    hostId,
    start() {
      if (stopping) return Promise.reject(new ConveyorError('CONVEYOR_STOPPED', 'this instance was stopped; create a new one'));
      starting ??= startAll();
      return starting;
    },
    stop,
    snapshot: takeSnapshot,
  };
  return instance;
}
