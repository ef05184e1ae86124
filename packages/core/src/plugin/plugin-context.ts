import type { DependencyContainer, InjectionToken } from 'tsyringe';
import type { ConveyorConfig, PluginSection } from '../config/resolve-config.js';
import type { ConveyorEventName } from '../events/event-map.js';
import type { EventBus, Listener } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { Stores } from '../persistence/ports.js';
import type { GateDefinition } from '../pipeline/gate.js';
import type { GateRegistry } from '../pipeline/gate-registry.js';
import type { StageEnterHook, StageHooks } from '../pipeline/stage-hooks.js';
import type { ClaimClause } from '../queue/claim-clause.js';
import type { ClaimClauseRegistry } from '../queue/claim-clause-registry.js';
import type { Finalizer, Finalizers } from '../queue/finalizers.js';
import { SafeLoop } from '../util/safe-loop.js';
import type { CliCommand, Daemon } from './daemon.js';
import type { Extensions, LifecycleHook, SnapshotBlock } from './extensions.js';
import type { OwnedRoute, RouteDescriptor } from './route.js';
import type { QueueSnapshot } from '../conveyor.js';
import { routeAccess } from './route-access.js';
import type { WebhookInbox } from '../intake/webhook-inbox.js';
import { ConveyorError } from '../errors.js';
import type { TaskCreationDecision, TaskCreationHooks, TaskDraft } from '../tasks/task-creation-hooks.js';
import type { WaitExplainer } from '../waiting/wait-reason.js';
import type { WaitExplainers } from '../waiting/wait-explainers.js';
import type { Waiting } from '../waiting/waiting-service.js';

/**
 * Everything a plugin may touch while it registers. Each method records the
 * plugin as owner, so the instance can list (and the tests count) exactly what a
 * plugin added, and a disabled plugin, never registered, adds nothing.
 */
/**
 * What a plugin may read of the whole instance once it runs (call these from a
 * route or a listener, not while registering: other plugins are not all in yet).
 */
export interface InstanceView {
  /** `GET /queue`'s answer: job counts, running jobs, every plugin's block. */
  snapshot(): Promise<QueueSnapshot>;
  /** Every plugin route of the instance, with its owner. */
  routes(): readonly OwnedRoute[];
}

export interface PluginContext<C extends PluginSection = PluginSection> {
  readonly name: string;
  /** The plugin's own validated section, `plugins.<name>`. */
  readonly config: C;
  /** The whole validated configuration (read-only). */
  readonly instanceConfig: ConveyorConfig;
  /**
   * The directory relative paths in the configuration are meant from: the config
   * file's directory when the host read one, else the working directory. A plugin
   * resolves its own relative paths (a command, a template) against it, never
   * against a task's worktree.
   */
  readonly baseDir: string;
  readonly logger: Logger;
  /** The instance's child container: bind ports and private services here. */
  readonly container: DependencyContainer;
  readonly stores: Stores;
  /** The instance's event bus, to emit the plugin's own events (`merge.deferred` …). Subscribe with `on`. */
  readonly events: Pick<EventBus, 'emit'>;
  /** True when `repo` is in this plugin's scope (`repos` empty = all). */
  inScope(repo: string): boolean;
  /** Binds a port or service (e.g. `CoreTokens.Forge`) for this instance. */
  provide<T>(token: InjectionToken<T>, value: T): void;
  on<E extends ConveyorEventName>(event: E, listener: Listener<E>): void;
  gates: {
    register(gate: GateDefinition): void;
    /** Adds a gate to a stage's exit edge, after the stage's own gates and earlier splices. */
    splice(stage: string, gate: string, options?: { rollbackTo?: string }): void;
  };
  /**
   * Webhook deliveries: `onDelivery(source, handler)` registers this plugin's
   * processor (during `register`); a route calls `accept({ source, deliveryKey,
   * payload })` after verifying and parsing, and answers once it resolves (the
   * delivery is then committed; the handler runs after the reply, once per key).
   */
  webhooks: Pick<WebhookInbox, 'accept' | 'onDelivery'>;
  /** A condition on which queued job may be claimed; give it `explain` so people see why a task waits. */
  addClaimClause(clause: ClaimClause): void;
  /**
   * A say in every new task, before it is inserted (synchronous, no I/O): e.g.
   * serial-gate defers the branch cut of the repos in its scope.
   */
  onTaskCreating(decide: (draft: TaskDraft) => TaskCreationDecision | void): void;
  /** Explains a wait that is neither a claim clause nor a gate (a budget stop …), from stored state. */
  explainWaiting(explainer: WaitExplainer): void;
  /**
   * What tasks wait for, from stored state: `heldBackBy(task)` lists the claim
   * clauses holding its queued job back (a reconciler skips those tasks).
   */
  readonly waiting: Pick<Waiting, 'forTask' | 'heldBackBy'>;
  addRoute(route: RouteDescriptor): void;
  /** The whole instance, read-only: its queue snapshot and its routes. */
  readonly instance: InstanceView;
  /** This plugin's block in `GET /queue`. */
  snapshot(block: SnapshotBlock): void;
  addDaemon(daemon: Daemon): void;
  /** A daemon built on the shared safe loop: per-tick isolation, backoff, clean stop. */
  loop(options: { name: string; intervalMs: number; tick: (signal: AbortSignal) => Promise<void> }): Daemon;
  /** Runs `run` after a task moved into `stage` (by the mover only); `late` hooks run after all others. */
  onStageEnter(stage: string, run: StageEnterHook['run'], options?: { late?: boolean }): void;
  addFinalizer(name: string, run: Finalizer['run']): void;
  addCommand(command: CliCommand): void;
  onStart(hook: LifecycleHook): void;
  onStop(hook: LifecycleHook): void;
}

export interface ContextDeps {
  instanceConfig: ConveyorConfig;
  baseDir: string;
  logger: Logger;
  container: DependencyContainer;
  stores: Stores;
  events: EventBus;
  gates: GateRegistry;
  clauses: ClaimClauseRegistry;
  hooks: StageHooks;
  finalizers: Finalizers;
  extensions: Extensions;
  inbox: WebhookInbox;
  /** Which plugin bound each token (`provide`), to refuse a second binder. */
  providers: Map<unknown, string>;
  creationHooks: TaskCreationHooks;
  explainers: WaitExplainers;
  waiting: Waiting;
  instance: InstanceView;
}

export function createPluginContext(name: string, deps: ContextDeps): PluginContext {
  const config = deps.instanceConfig.plugins[name] ?? { enabled: true, repos: [] };
  const logger = deps.logger.child({ plugin: name });
  const ext = deps.extensions;
  return {
    name,
    config,
    instanceConfig: deps.instanceConfig,
    baseDir: deps.baseDir,
    logger,
    container: deps.container,
    stores: deps.stores,
    events: { emit: (event, payload) => deps.events.emit(event, payload) },
    inScope: (repo) => config.repos.length === 0 || config.repos.includes(repo),
    provide: (token, value) => {
      // One tracker, one forge, one agent runner: two plugins binding the same port
      // would leave the winner to registration order. Core's defaults may be replaced.
      const owner = deps.providers.get(token);
      if (owner && owner !== name) {
        throw new ConveyorError('CONVEYOR_PLUGIN_REGISTER', `plugins "${owner}" and "${name}" both provide ${String(token)}; disable one of them (plugins.<name>.enabled: false)`);
      }
      deps.providers.set(token, name);
      deps.container.register(token, { useValue: value });
    },
    on: (event, listener) => {
      ext.listenerDisposers.push({ plugin: name, dispose: deps.events.on(event, listener) });
    },
    gates: {
      register: (gate) => deps.gates.register(gate),
      splice: (stage, gate, options) => deps.gates.splice({ stage, gate, plugin: name, ...(options?.rollbackTo ? { rollbackTo: options.rollbackTo } : {}) }),
    },
    webhooks: {
      accept: (input) => deps.inbox.accept(input),
      onDelivery: (source, handler) => deps.inbox.onDelivery(source, handler),
    },
    addClaimClause: (clause) => deps.clauses.add(name, clause),
    onTaskCreating: (decide) => deps.creationHooks.add({ plugin: name, decide }),
    explainWaiting: (explainer) => deps.explainers.add(name, explainer),
    waiting: { forTask: (task) => deps.waiting.forTask(task), heldBackBy: (task) => deps.waiting.heldBackBy(task) },
    addRoute: (route) => {
      routeAccess(route);
      ext.routes.push(Object.freeze({ ...route, plugin: name }));
    },
    instance: deps.instance,
    snapshot: (block) => {
      ext.snapshots.push({ plugin: name, block });
    },
    addDaemon: (daemon) => {
      ext.daemons.push({ plugin: name, daemon });
    },
    loop: (options) => {
      let loop: SafeLoop | null = null;
      const daemon: Daemon = {
        name: options.name,
        get running() {
          return loop?.running ?? false;
        },
        start: () => {
          if (loop) return;
          loop = new SafeLoop({
            ...options,
            logger,
            onError: (error, consecutive) => deps.events.emit('loop.error', { loop: options.name, error, consecutive }),
          });
          loop.start();
        },
        stop: async () => {
          const l = loop;
          loop = null;
          await l?.stop();
        },
      };
      ext.daemons.push({ plugin: name, daemon });
      return daemon;
    },
    onStageEnter: (stage, run, options) => deps.hooks.onEnter({ plugin: name, stage, run, ...(options?.late ? { late: true } : {}) }),
    addFinalizer: (finalizerName, run) => deps.finalizers.add({ plugin: name, name: finalizerName, run }),
    addCommand: (command) => {
      ext.commands.push({ plugin: name, command });
    },
    onStart: (hook) => {
      ext.startHooks.push({ plugin: name, hook });
    },
    onStop: (hook) => {
      ext.stopHooks.push({ plugin: name, hook });
    },
  };
}
