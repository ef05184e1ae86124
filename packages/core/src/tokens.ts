/**
 * Injection tokens of core. Every port and service is bound to one of these
 * symbols in the instance's child container, never to a class by reflection, so
 * DI works under any compiler (esbuild/tsx emit no decorator metadata).
 * A plugin keeps its private tokens in its own `tokens.ts`.
 */
export const CoreTokens = Object.freeze({
  /** The validated, frozen configuration of the instance (`ConveyorConfig`). */
  Config: Symbol.for('conveyor.Config'),
  /** `Logger` of the instance. */
  Logger: Symbol.for('conveyor.Logger'),
  /** `Clock`: the time source (tests move it). */
  Clock: Symbol.for('conveyor.Clock'),
  /** `EventBus`. */
  Events: Symbol.for('conveyor.Events'),
  /** `Database`: the knex handle and its dialect. */
  Database: Symbol.for('conveyor.Database'),
  /** Host id stamped on claimed jobs (`hostname:pid` unless configured). */
  HostId: Symbol.for('conveyor.HostId'),
  TaskStore: Symbol.for('conveyor.TaskStore'),
  JobStore: Symbol.for('conveyor.JobStore'),
  AgentRunStore: Symbol.for('conveyor.AgentRunStore'),
  CiStatusStore: Symbol.for('conveyor.CiStatusStore'),
  InboxStore: Symbol.for('conveyor.InboxStore'),
  LeaseStore: Symbol.for('conveyor.LeaseStore'),
  /** `GateWaitStore`: the last non-passing verdict of each task's edge. */
  GateWaitStore: Symbol.for('conveyor.GateWaitStore'),
  /** `OutboxStore`: effects stored with the state change that causes them. */
  OutboxStore: Symbol.for('conveyor.OutboxStore'),
  /** `Outbox`: runs stored effects now, and after a crash on the next start. */
  Outbox: Symbol.for('conveyor.Outbox'),
  /** `TaskCreationHooks`: plugins' say in a new task (deferred branch cut). */
  TaskCreationHooks: Symbol.for('conveyor.TaskCreationHooks'),
  /** `WaitExplainers`: plugins' explanations of waits beyond clauses and gates. */
  WaitExplainers: Symbol.for('conveyor.WaitExplainers'),
  /** `Waiting`: what a task waits for, from stored state. */
  Waiting: Symbol.for('conveyor.Waiting'),
  /** `Pipeline`: the frozen stage definitions. */
  Pipeline: Symbol.for('conveyor.Pipeline'),
  /** `GateRegistry`. */
  GateRegistry: Symbol.for('conveyor.GateRegistry'),
  /** `ClaimClauseRegistry`. */
  ClaimClauses: Symbol.for('conveyor.ClaimClauses'),
  /** `StageHooks`: actions run after a stage is entered. */
  StageHooks: Symbol.for('conveyor.StageHooks'),
  /** `Finalizers`: steps between an agent's exit and the job's finish. */
  Finalizers: Symbol.for('conveyor.Finalizers'),
  StageEngine: Symbol.for('conveyor.StageEngine'),
  TaskService: Symbol.for('conveyor.TaskService'),
  /** `BudgetService`: cost budgets, the budget stop and the raise. */
  Budgets: Symbol.for('conveyor.Budgets'),
  /** `TaskRetry`: a person's retry of a stopped task. */
  TaskRetry: Symbol.for('conveyor.TaskRetry'),
  JobFinisher: Symbol.for('conveyor.JobFinisher'),
  /** Takes back the jobs of a host that is gone (worker start-up, reaper). */
  JobRecovery: Symbol.for('conveyor.JobRecovery'),
  JobExecutor: Symbol.for('conveyor.JobExecutor'),
  Worker: Symbol.for('conveyor.Worker'),
  /** `WebhookInbox`: accepted deliveries, processed after the reply. */
  WebhookInbox: Symbol.for('conveyor.WebhookInbox'),
  /** `TrackerSync`: ordered tracker updates (the approval request). */
  TrackerSync: Symbol.for('conveyor.TrackerSync'),
  /** `Intake`: what external events mean (§6). */
  Intake: Symbol.for('conveyor.Intake'),
  /** Ports bound by integration plugins. */
  Tracker: Symbol.for('conveyor.port.Tracker'),
  Forge: Symbol.for('conveyor.port.Forge'),
  Notifier: Symbol.for('conveyor.port.Notifier'),
  AgentRunner: Symbol.for('conveyor.port.AgentRunner'),
  Workspace: Symbol.for('conveyor.port.Workspace'),
  /** `Canceller`: applies STOP (the cancel plugin). */
  Canceller: Symbol.for('conveyor.port.Canceller'),
  /** `MergePin`: which head may merge (the sha a re-test passed on; merge-gate). */
  MergePin: Symbol.for('conveyor.port.MergePin'),
  /** `DeployStatusGuard`: decides deploy-phase tracker writes (deploy-status-guard). */
  DeployStatusGuard: Symbol.for('conveyor.port.DeployStatusGuard'),
  /** `PostDeployWindow`: the watch after a deploy (post-deploy-monitor). */
  PostDeployWindow: Symbol.for('conveyor.port.PostDeployWindow'),
  /** `DeployPhaseStatus`: the one writer of deploy-phase tracker statuses. */
  DeployPhaseStatus: Symbol.for('conveyor.DeployPhaseStatus'),
  ArtifactReader: Symbol.for('conveyor.port.ArtifactReader'),
  PromptBuilder: Symbol.for('conveyor.PromptBuilder'),
  /** `AgentSandbox`: whether and how agent processes are sandboxed (`workspaces.sandbox`). */
  AgentSandbox: Symbol.for('conveyor.AgentSandbox'),
  /** `Ports`: lazy access to the optional ports above. */
  Ports: Symbol.for('conveyor.Ports'),
  /** The instance's child container itself (for `Ports`). */
  Container: Symbol.for('conveyor.Container'),
});

/** The time source. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
