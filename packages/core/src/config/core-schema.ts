import { Type, type Static } from '@sinclair/typebox';
import { PATH_KEY, URL_OR_PATH_KEY, underDataDir } from './resolve-paths.js';

/**
 * The core part of the configuration schema. Every key has a description and,
 * where sensible, a default; `secret: true` marks keys that may only come from the
 * environment and are redacted when printed. Plugins add their sections under
 * `plugins.<name>` (see `plugin/define-plugin.ts`).
 */
const Int = (def: number, description: string, minimum = 0) => Type.Integer({ minimum, default: def, description });

export const DatabaseSchema = Type.Object(
  {
    client: Type.Union([Type.Literal('sqlite'), Type.Literal('pg')], {
      default: 'sqlite',
      description: 'Database: `sqlite` (embedded, one host) or `pg` (PostgreSQL, several hosts).',
    }),
    sqliteDriver: Type.Union([Type.Literal('better-sqlite3'), Type.Literal('sqlite3')], {
      default: 'better-sqlite3',
      description: 'SQLite driver under knex (see docs/decisions/0003-sqlite-driver.md).',
    }),
    filename: Type.String({ ...underDataDir('conveyor.db'), default: '.conveyor/conveyor.db', description: 'SQLite database file; relative to the config file\'s directory.' }),
    url: Type.Optional(Type.String({ secret: true, description: 'PostgreSQL connection string (secret: `${DATABASE_URL}` or CONVEYOR_DATABASE_URL).' })),
    schema: Type.Optional(Type.String({ description: 'PostgreSQL schema (search_path) to use.' })),
    busyTimeoutMs: Int(5000, 'SQLite busy_timeout in milliseconds.'),
  },
  { additionalProperties: false, default: {} },
);

export const WorkerSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Run the job worker in this process.' }),
    maxConcurrency: Int(2, 'Jobs run at once by this host.', 1),
    pollIntervalMs: Int(1000, 'How often the worker looks for work when nothing woke it.', 10),
    heartbeatIntervalMs: Int(5000, 'How often running jobs are heartbeated.', 10),
    retryBudget: Int(3, 'Transient failures a job may have before it fails.'),
    backoffBaseMs: Int(5000, 'First retry delay; doubles per retry.'),
    backoffMaxMs: Int(300000, 'Longest retry delay.'),
    agentTimeoutMs: Int(3600000, 'An agent running longer is killed with its process group.', 1),
    stopDeadlineMs: Int(30000, 'On stop, how long running jobs may finish before they are left to the reaper.'),
    leaseMs: Int(15000, 'How long a claimed job stays its host\'s without a heartbeat, in the database\'s clock; past it any host (its reaper) may take the job back. Keep it several heartbeats long.', 100),
    recoveryBudget: Int(3, 'Times a job may be taken back from a host that died (or hung) running it; one more and the job fails and its task is blocked, so a job that kills its host every time does not loop for ever.'),
  },
  { additionalProperties: false, default: {} },
);

export const IntakeSchema = Type.Object(
  {
    leaseMs: Int(60000, 'How long an accepted webhook delivery stays the accepting host\'s to process without renewal (it is renewed every third of it while the host works on it); past it another host takes it over.', 100),
    sweepIntervalMs: Int(30000, 'How often a host looks for deliveries whose host died before processing them, and for old rows to delete.', 10),
    retentionDays: Type.Number({ minimum: 0, default: 30, description: 'Processed webhook deliveries older than this many days are deleted (0 keeps them for ever). A redelivery older than this is no longer recognised as a duplicate.' }),
  },
  { additionalProperties: false, default: {} },
);

export const OutboxSchema = Type.Object(
  {
    pollIntervalMs: Int(2000, 'How often pending effects (an advance, a tracker update, a worktree removal) left by a crash or a failed call are looked for.', 10),
    leaseMs: Int(60000, 'How long a host owns an effect it is running; past it, any host may run the effect again.', 100),
    maxAttempts: Int(8, 'Failed runs of one effect before it is given up (logged as an error).', 1),
    retryBaseMs: Int(2000, 'First delay before a failed effect is tried again; doubles per attempt, up to five minutes.', 1),
    retentionDays: Int(7, 'Effects done longer ago than this are deleted (failed ones are kept for a person to look at).', 1),
  },
  { additionalProperties: false, default: {} },
);

export const PipelineConfigSchema = Type.Object(
  {
    maxDeveloperRetries: Int(3, 'Rollbacks to development before the task is blocked.'),
    maxDefers: Int(20, 'Times an edge may be deferred (busy merge lease …) before it fails.'),
    deferDelayMs: Int(30000, 'Delay of a deferred edge when the gate names none.'),
  },
  { additionalProperties: false, default: {} },
);

export const BudgetsSchema = Type.Object(
  {
    taskUsd: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'USD a task may spend on agent runs in all; when its spend reaches it, the task is blocked (reason `budget`) before the next agent run. Unset: no task budget. A task may carry its own (`POST /tasks/:id/budget`).' })),
    stageUsd: Type.Record(Type.String(), Type.Number({ exclusiveMinimum: 0 }), { default: {}, description: 'USD the runs of one stage of a task may spend, by stage name (`development: 5`); checked like `taskUsd`.' }),
  },
  { additionalProperties: false, default: {} },
);

export const HostSchema = Type.Object(
  {
    address: Type.String({ default: '127.0.0.1', description: 'Address the HTTP server listens on.' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 3700, description: 'Port of the HTTP server (0 = any free port).' }),
    bodyLimitBytes: Int(1048576, 'Largest request body accepted; larger → 413.', 1),
    token: Type.Optional(Type.String({ secret: true, minLength: 16, description: 'Bearer token for mutating API routes; without it a random one is kept in `<dataDir>/token` (mode 0600).' })),
    readAuth: Type.Optional(
      Type.Union([Type.Literal('token'), Type.Literal('none')], {
        description: 'Whether reads (`GET` routes other than `/health`) need the bearer token too: `token` or `none`. Default: `token` when `host.address` is not a loopback address, `none` when it is.',
      }),
    ),
    shutdownGraceMs: Int(30000, 'On SIGINT/SIGTERM, how long running jobs may finish.'),
  },
  { additionalProperties: false, default: {} },
);

export const WorkspacesSchema = Type.Object(
  {
    root: Type.String({ ...underDataDir('workspaces'), default: '.conveyor/workspaces', description: 'Where bare mirrors and task worktrees live; relative to the config file\'s directory.' }),
    gitAuthorName: Type.String({ default: 'Conveyor', description: 'Author of the commits Conveyor makes.' }),
    gitAuthorEmail: Type.String({ default: 'conveyor@localhost', description: 'Author e-mail of the commits Conveyor makes.' }),
    sandbox: Type.Union([Type.Literal('auto'), Type.Literal('bubblewrap'), Type.Literal('none')], {
      default: 'auto',
      description: 'Agent sandbox: `bubblewrap` (agents see their worktree, a read-only system and `sandboxBind`, never the data directory, other worktrees or the origin; start fails when bwrap does not work), `none`, or `auto` (bubblewrap when `bwrap` works, else none with a warning).',
    }),
    sandboxBind: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'More paths agents see inside the sandbox, read-write, or read-only with a `:ro` suffix (`~/.claude`, `~/.claude.json`, `/opt/tools:ro`); `~/` is the home directory; missing paths are skipped.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const RepoSchema = Type.Object(
  {
    url: Type.Optional(Type.String({ ...URL_OR_PATH_KEY, minLength: 1, description: 'Clone URL or path of the origin repository; a path is relative to the config file\'s directory.' })),
    testCommand: Type.Optional(Type.String({ minLength: 1, description: 'The repo\'s test command (local CI, merge-gate re-test).' })),
    workItemPrefix: Type.Optional(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]*$', description: 'Work item prefix of this repo (`ORCH`).' })),
    mainBranch: Type.String({ default: 'main', description: 'The branch Conveyor never pushes to directly.' }),
    protectedBranches: Type.Array(Type.String(), { default: [], description: 'More branches Conveyor never deletes or force-pushes.' }),
    prompts: Type.Optional(Type.Record(Type.String(), Type.String({ ...PATH_KEY, minLength: 1 }), { description: 'Prompt template file per role (analyst, architect, …) replacing the default; `{{title}}`, `{{artifactPath}}`, `{{reason}}` … are filled in.' })),
    deploy: Type.Optional(
      Type.Object(
        {
          confirm: Type.Optional(Type.Boolean({ description: 'This repo\'s own `deploy.confirm`: the deployer waits for a person\'s confirmation (true) or not (false). Unset: the instance-wide `deploy.confirm`.' })),
        },
        { additionalProperties: false, description: 'Deploy settings of this repo, replacing the instance-wide `deploy` keys.' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const DeploySchema = Type.Object(
  {
    confirm: Type.Boolean({
      default: false,
      description: 'Manual deploy confirmation: a task that enters deploy waits (tracker "Awaiting Deploy") until a person confirms — the tracker status "Confirm Deploy", `POST /tasks/:id/confirm-deploy` or `conveyor task confirm-deploy <id>` — before the deployer runs. A repo may say otherwise (`repos.<name>.deploy.confirm`).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const StatusNamesSchema = Type.Object(
  {
    toAnalyse: Type.String({ default: 'To Analyse', description: 'Tracker status that starts the pipeline.' }),
    inProgress: Type.String({ default: 'In Progress', description: 'Relaunches the analyst at analysis.' }),
    needsInput: Type.String({ default: 'Needs Input', description: 'Analyst waits for answers (informational).' }),
    inReview: Type.String({ default: 'In Review', description: 'Analyst finished; waiting for the verdict.' }),
    approved: Type.String({ default: 'Approved', description: 'Human verdict: approve.' }),
    rejected: Type.String({ default: 'Rejected', description: 'Human verdict: reject (relaunch the analyst).' }),
    stop: Type.String({ default: 'STOP', description: 'Cancel the task (cancel plugin).' }),
    confirmDeploy: Type.String({ default: 'Confirm Deploy', description: 'Manual deploy confirmation (where `deploy.confirm` is on; otherwise ignored).' }),
    awaitingDeploy: Type.String({ default: 'Awaiting Deploy', description: 'Set when the task enters deploy.' }),
    deploying: Type.String({ default: 'Deploying', description: 'Set when the deployer starts.' }),
    monitoring: Type.String({ default: 'Monitoring after Deploy', description: 'Set after a successful deploy while the post-deploy window is open (post-deploy-monitor).' }),
    done: Type.String({ default: 'Done', description: 'Terminal Done.' }),
  },
  { additionalProperties: false, default: {} },
);

export const CoreConfigSchema = Type.Object(
  {
    instance: Type.Object(
      {
        hostId: Type.Optional(Type.String({ minLength: 1, description: 'Host id stamped on claimed jobs and webhook deliveries, stable across restarts. By default one is made at the first start (`<hostname>-<random>`) and kept in `<dataDir>/host-id`, so a restarted container keeps its id while two data directories never share one.' })),
        dataDir: Type.String({ ...PATH_KEY, default: '.conveyor', description: 'Directory for local state: the database file, workspaces, logs, the API token and the running host\'s address, unless their own keys say otherwise. Relative to the config file\'s directory (the working directory without a file).' }),
      },
      { additionalProperties: false, default: {} },
    ),
    database: DatabaseSchema,
    host: HostSchema,
    workspaces: WorkspacesSchema,
    worker: WorkerSchema,
    outbox: OutboxSchema,
    intake: IntakeSchema,
    pipeline: PipelineConfigSchema,
    budgets: BudgetsSchema,
    deploy: DeploySchema,
    workItemPrefix: Type.String({ default: 'ET', pattern: '^[A-Za-z][A-Za-z0-9]*$', description: 'Default work item prefix.' }),
    repos: Type.Record(Type.String(), RepoSchema, { default: {}, description: 'Per-repo settings, by repo name.' }),
    statuses: StatusNamesSchema,
  },
  { additionalProperties: false },
);

export type CoreConfig = Static<typeof CoreConfigSchema>;
export type RepoConfig = Static<typeof RepoSchema>;
export type BudgetsConfig = Static<typeof BudgetsSchema>;
export type StatusNames = Static<typeof StatusNamesSchema>;
export type DeployConfig = Static<typeof DeploySchema>;
