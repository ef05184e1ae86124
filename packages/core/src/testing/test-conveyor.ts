import 'reflect-metadata';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { createConveyor, type Conveyor } from '../conveyor.js';
import type { ConveyorPlugin } from '../plugin/define-plugin.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { GateContext } from '../pipeline/gate.js';
import type { Task } from '../domain.js';
import type { Clock } from '../tokens.js';
import { CoreTokens } from '../tokens.js';
import { FakeAgentRunner, FakeForge, FakeTracker, InMemoryArtifactReader, RecordingNotifier, TempWorkspace, type ScriptedRun } from './fakes.js';
import { EventRecorder, RecordingLogger } from './recording.js';
import type { AgentRunRequest } from '../ports/agent-runner.js';

export type TestDialect = 'sqlite' | 'pg' | 'sqlite:sqlite3';

/** The environment variable that points the PostgreSQL suites at a server. */
export const PG_URL_ENV = 'CONVEYOR_TEST_PG_URL';

/**
 * The databases a store test should loop over: SQLite always (both drivers where
 * asked), PostgreSQL when `CONVEYOR_TEST_PG_URL` is set. Without it, says loudly
 * (once per process) that the PostgreSQL suites are skipped.
 */
export function testDatabases(options: { bothSqliteDrivers?: boolean } = {}): TestDialect[] {
  const out: TestDialect[] = ['sqlite'];
  if (options.bothSqliteDrivers) out.push('sqlite:sqlite3');
  if (process.env[PG_URL_ENV]) out.push('pg');
  else warnPgSkipped();
  return out;
}

let warned = false;
function warnPgSkipped(): void {
  if (warned) return;
  warned = true;
  process.stderr.write(`\n*** ${PG_URL_ENV} is not set: the PostgreSQL variants of these tests are SKIPPED ***\n\n`);
}

export interface TestConveyorOptions {
  dialect?: TestDialect;
  config?: Record<string, unknown>;
  plugins?: ConveyorPlugin[];
  pipeline?: Pipeline;
  clock?: Clock;
  /** Script of the fake agent runner, by request. */
  agent?: (req: AgentRunRequest, callIndex: number) => ScriptedRun;
  /** false: bind no fake ports at all (to test a plugin that binds its own). */
  fakes?: boolean;
  /** The fake tracker to bind (a restarted instance shares the first one's, as a real tracker outlives a crash). */
  tracker?: FakeTracker;
  /** `createConveyor`'s `baseDir` (the config file's directory). */
  baseDir?: string;
  /** Environment for `${VAR}` and `CONVEYOR_…` (a plugin's secrets); the test database URL is added. */
  env?: Record<string, string | undefined>;
}

export interface TestConveyor {
  conveyor: Conveyor;
  events: EventRecorder;
  logger: RecordingLogger;
  agent: FakeAgentRunner;
  artifacts: InMemoryArtifactReader;
  forge: FakeForge;
  tracker: FakeTracker;
  notifier: RecordingNotifier;
  workspace: TempWorkspace;
  /** Stops the instance and removes the database (file or schema). */
  cleanup(): Promise<void>;
}

/**
 * An instance on a throwaway database (SQLite file in a temp dir, or a fresh
 * PostgreSQL schema), with fakes bound for every external port. The worker is off
 * by default (`worker.enabled: false`); tests drive it or turn it on.
 */
export async function createTestConveyor(options: TestConveyorOptions = {}): Promise<TestConveyor> {
  const dialect = options.dialect ?? 'sqlite';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-test-'));
  const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
  const pgUrl = process.env[PG_URL_ENV];
  if (dialect === 'pg' && !pgUrl) throw new Error(`${PG_URL_ENV} is not set`);
  const database =
    dialect === 'pg'
      ? { client: 'pg', url: '${' + PG_URL_ENV + '}', schema }
      : { client: 'sqlite', sqliteDriver: dialect === 'sqlite:sqlite3' ? 'sqlite3' : 'better-sqlite3', filename: path.join(dir, 'conveyor.db') };
  const config = {
    ...options.config,
    // Local state a plugin keeps beside the database (logs …) stays in the temp dir.
    instance: { dataDir: dir, ...((options.config?.instance as object) ?? {}) },
    database: { ...database, ...((options.config?.database as object) ?? {}) },
    // The kit's agents are fakes, not processes: nothing to sandbox, no bwrap to probe at start.
    workspaces: { sandbox: 'none', ...((options.config?.workspaces as object) ?? {}) },
    worker: { enabled: false, pollIntervalMs: 20, heartbeatIntervalMs: 50, backoffBaseMs: 10, backoffMaxMs: 50, ...((options.config?.worker as object) ?? {}) },
  };
  const logger = new RecordingLogger();
  const artifacts = new InMemoryArtifactReader(options.pipeline);
  const agent = new FakeAgentRunner(options.agent, artifacts);
  const forge = new FakeForge();
  const tracker = options.tracker ?? new FakeTracker();
  const notifier = new RecordingNotifier();
  const workspace = new TempWorkspace();
  workspace.onPush = (task, sha) => forge.setHead(task.repo, task.branch, sha);
  const conveyor = await createConveyor({
    config,
    plugins: options.plugins ?? [],
    logger,
    // Only the test database URL: a developer's CONVEYOR_… shell variables must not change tests.
    env: { ...options.env, ...(pgUrl ? { [PG_URL_ENV]: pgUrl } : {}) },
    ...(options.pipeline ? { pipeline: options.pipeline } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.baseDir ? { baseDir: options.baseDir } : {}),
    bindings: (c) => {
      if (options.fakes === false) return;
      c.register(CoreTokens.AgentRunner, { useValue: agent });
      c.register(CoreTokens.ArtifactReader, { useValue: artifacts });
      c.register(CoreTokens.Forge, { useValue: forge });
      c.register(CoreTokens.Tracker, { useValue: tracker });
      c.register(CoreTokens.Notifier, { useValue: notifier });
      c.register(CoreTokens.Workspace, { useValue: workspace });
    },
  });
  const events = new EventRecorder(conveyor.events);
  let cleaned = false;
  return {
    conveyor,
    events,
    logger,
    agent,
    artifacts,
    forge,
    tracker,
    notifier,
    workspace,
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      events.dispose();
      await conveyor.stop();
      // A test that leaks a loop or a listener fails here rather than hanging later.
      const leaks = [
        ...conveyor.extensions.daemons.filter((d) => d.daemon.running).map((d) => `daemon ${d.daemon.name}`),
        ...(conveyor.worker.running > 0 ? [`${conveyor.worker.running} running jobs`] : []),
        ...(conveyor.events.listenerCount() > 0 ? [`${conveyor.events.listenerCount()} event listeners`] : []),
      ];
      workspace.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
      if (dialect === 'pg') await dropTestSchema(schema);
      if (leaks.length) throw new Error(`test instance leaked after stop(): ${leaks.join(', ')}`);
    },
  };
}

/** Drops a PostgreSQL schema a test made on `CONVEYOR_TEST_PG_URL` (no-op without it). */
export async function dropTestSchema(schema: string): Promise<void> {
  const url = process.env[PG_URL_ENV];
  if (!url) return;
  const k = knexFactory({ client: 'pg', connection: { connectionString: url }, pool: { min: 0, max: 1 } });
  try {
    await k.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await k.destroy();
  }
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * A gate's context as the stage engine builds it, from the kit's stores and fakes,
 * so a plugin's test can call its gate's `check` directly.
 */
export function gateContext(kit: TestConveyor, task: Task, stage: string, readOnly = false): GateContext {
  const s = kit.conveyor.store;
  return { task, stage, finishedAgent: null, readOnly, artifacts: kit.artifacts, agentRuns: s.agentRuns, ciStatuses: s.ciStatuses, forge: kit.forge, logger: kit.logger };
}

/** Files a task for `repo` and parks it at `stage` with its jobs done, as if the pipeline got it there. */
export async function taskAtStage(kit: TestConveyor, repo: string, issue: string, stage: string): Promise<Task> {
  const { task } = await kit.conveyor.intake.startPipeline({ repo, trackerIssueId: issue, title: `task ${issue}` });
  await kit.conveyor.db.knex('jobs').where({ task_id: task.id }).update({ status: 'done' });
  await kit.conveyor.db.knex('tasks').where({ id: task.id }).update({ stage });
  return (await kit.conveyor.store.tasks.get(task.id))!;
}
