import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import { openDatabase, type Database } from '@conveyor/core';
import { createBareRepo, dropTestSchema, eventually, PG_URL_ENV, type BareRepo, type TestDialect } from '@conveyor/core/testing';
import { DEMO_AGENT, DEMO_STARTER_FILES } from '@conveyor/host';
import { FakeGitea } from '@conveyor/plugin-forge-gitea/testing';
import { FakePlane } from '@conveyor/plugin-tracker-plane/testing';
import { FaultHost } from './fault-host.js';
import { scenarioProcesses } from './scenario-processes.js';
import { WebhookRelay } from './webhook-relay.js';
import type { SeededRandom } from './seeded-random.js';

/** The host's API token in every scenario. */
export const FAULT_API_TOKEN = 'f'.repeat(32);
/** The secret the fake Gitea signs its webhooks with, and the host checks. */
export const FAULT_GITEA_SECRET = 'gitea-webhook-secret-for-faults';
/** The repository every scenario works on. */
export const FAULT_REPO = 'acme/shop';

/**
 * `local`: the embedded tracker and forge (tasks filed through `POST /tasks`, CI run
 * by forge-git, no webhooks). `plane-gitea`: the fake Plane and Gitea, every webhook
 * through a `WebhookRelay` that can drop, repeat and reorder deliveries.
 */
export type FaultProfile = 'local' | 'plane-gitea';

export interface FaultScenarioOptions {
  /** Short name: the temp directory's and PostgreSQL schema's prefix. */
  name: string;
  dialect: TestDialect;
  profile: FaultProfile;
  /** Seeds the webhook relay's choices (plane-gitea). */
  random?: SeededRandom;
  /** Changes to every host's config (after the profile's; deep-merged). */
  config?: Record<string, unknown>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Json, v) : v;
  return out;
}

/**
 * One fault scenario's world: a temp directory, a database (a SQLite file, or a
 * schema of its own on `CONVEYOR_TEST_PG_URL`), a bare origin, the fakes of the
 * profile, and the hosts (`host(id)`), each a real `conveyor start` process.
 * Everything is torn down by the test's `after` hooks; processes left behind are
 * the invariants' business (`checkInvariants`), not the teardown's.
 */
export class FaultScenario {
  readonly hosts = new Map<string, FaultHost>();
  plane: FakePlane | null = null;
  gitea: FakeGitea | null = null;
  relay: WebhookRelay | null = null;
  #db: Database | null = null;
  #stopCi: (() => Promise<void>) | null = null;

  private constructor(
    readonly options: FaultScenarioOptions,
    readonly dir: string,
    readonly origin: BareRepo,
    readonly schema: string | null,
  ) {}

  static async create(t: TestContext, options: FaultScenarioOptions): Promise<FaultScenario> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `conveyor-fault-${options.name}-`));
    fs.mkdirSync(path.join(dir, 'tmp'));
    const origin = await createBareRepo(DEMO_STARTER_FILES);
    const schema = options.dialect === 'pg' ? `fault_${options.name.replace(/\W/g, '_')}_${Date.now().toString(36)}` : null;
    const s = new FaultScenario(options, dir, origin, schema);
    t.after(() => s.dispose());
    if (options.profile === 'plane-gitea') await s.#startFakes();
    return s;
  }

  get dialect(): TestDialect {
    return this.options.dialect;
  }

  /** The host with `hostId` (made on first call; one config and data directory per host, one database for all). */
  host(hostId = 'fault-1'): FaultHost {
    const known = this.hosts.get(hostId);
    if (known) return known;
    if (this.dialect !== 'pg' && this.hosts.size > 0) throw new Error('several hosts share one database on PostgreSQL only');
    const home = path.join(this.dir, hostId);
    fs.mkdirSync(home, { recursive: true });
    const configPath = path.join(home, 'conveyor.config.yaml');
    fs.writeFileSync(configPath, stringify(merge(this.#profileConfig(hostId, home), this.options.config ?? {})));
    const env = FaultHost.env(this.dir, {
      // CI clones and every other temp file of the host land inside the scenario.
      TMPDIR: path.join(this.dir, 'tmp'),
      DATABASE_URL: process.env[PG_URL_ENV] ?? '',
      CONVEYOR_API_TOKEN: FAULT_API_TOKEN,
      CONVEYOR_LOG_LEVEL: process.env.FAULT_LOG_LEVEL ?? 'warn',
      ...(this.plane ? { PLANE_API_KEY: this.plane.apiKey, PLANE_WEBHOOK_SECRET: this.plane.webhookSecret } : {}),
      ...(this.gitea ? { GITEA_TOKEN: this.gitea.token, GITEA_WEBHOOK_SECRET: FAULT_GITEA_SECRET } : {}),
    });
    const host = new FaultHost(hostId, configPath, home, env);
    this.hosts.set(hostId, host);
    this.relay?.addHost(host);
    return host;
  }

  /** A read-write handle on the scenario's database (opened once, closed at teardown). */
  async db(): Promise<Database> {
    this.#db ??= await openDatabase(
      this.dialect === 'pg'
        ? { client: 'pg', url: process.env[PG_URL_ENV]!, schema: this.schema!, pool: { min: 0, max: 2 } }
        : { client: 'sqlite', filename: path.join(this.dir, 'conveyor.db') },
    );
    return this.#db;
  }

  /** The first running host's URL (the API of any host reads the one database). */
  get url(): string {
    for (const h of this.hosts.values()) if (h.url) return h.url;
    throw new Error('no host of the scenario is running');
  }

  /** A call to the running host's API with its token. */
  async api<T = unknown>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${FAULT_API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  /** Every host's stderr, for failure messages. */
  logs(): string {
    return [...this.hosts.values()].map((h) => h.log).join('\n');
  }

  /**
   * Waits for `check` to hold, looking every `intervalMs` (a database is not polled
   * every 10 ms). Fails with `what` and every host's log.
   */
  async until<T>(check: () => T | Promise<T>, timeoutMs: number, what: string, intervalMs = 100): Promise<T> {
    let first = true;
    try {
      return await eventually(async () => {
        if (!first) await new Promise((r) => setTimeout(r, intervalMs));
        first = false;
        return check();
      }, timeoutMs, what);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await this.describe()}\n${this.logs()}`, { cause: err });
    }
  }

  /** The tasks, their live jobs and gate waits, as text (for failure messages). */
  async describe(): Promise<string> {
    try {
      const { knex } = await this.db();
      const tasks = (await knex('tasks').select('id', 'stage', 'blocked_reason', 'human_verdict', 'merge_initiated_at', 'merged_at', 'updated_at').orderBy('id')) as Record<string, unknown>[];
      const jobs = (await knex('jobs').select('id', 'task_id', 'stage', 'status', 'attempt', 'retries', 'host_id', 'heartbeat_at', 'error').orderBy('id')) as Record<string, unknown>[];
      const waits = (await knex('gate_waits').select('*')) as Record<string, unknown>[];
      const ci = (await knex('ci_statuses').select('sha', 'branch', 'context', 'state', 'updated_at').orderBy('id')) as Record<string, unknown>[];
      const processes = scenarioProcesses(this.dir).map((p) => `  ${p.pid} ${p.cmdline.slice(0, 200)}`);
      return ['tasks:', ...tasks.map((t) => `  ${JSON.stringify(t)}`), 'jobs:', ...jobs.map((j) => `  ${JSON.stringify(j)}`), 'gate waits:', ...waits.map((w) => `  ${JSON.stringify(w)}`), 'CI statuses:', ...ci.map((c) => `  ${JSON.stringify(c)}`), 'processes:', ...processes].join('\n');
    } catch (err) {
      return `(state unreadable: ${(err as Error).message})`;
    }
  }

  async dispose(): Promise<void> {
    for (const h of this.hosts.values()) await h.kill();
    await this.#stopCi?.();
    await this.relay?.settle();
    await this.#db?.close();
    await this.plane?.close();
    await this.gitea?.close();
    this.origin.dispose();
    if (this.schema) await dropTestSchema(this.schema);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  async #startFakes(): Promise<void> {
    this.relay = new WebhookRelay(this.options.random ?? null);
    this.plane = await FakePlane.start({ fetch: this.relay.fetchFor('plane'), webhookUrl: 'http://relay.invalid/webhooks/plane' });
    this.gitea = await FakeGitea.start({ webhook: { secret: FAULT_GITEA_SECRET, deliver: this.relay.deliverFor('gitea') } });
    this.gitea.addRepo(FAULT_REPO);
    this.gitea.push(FAULT_REPO, 'main', (await this.origin.head('main'))!);
    const { mirrorPushesToGitea } = await import('./fake-ci.js');
    this.#stopCi = mirrorPushesToGitea(this.origin.origin, this.gitea, FAULT_REPO);
  }

  #profileConfig(hostId: string, home: string): Json {
    const database =
      this.dialect === 'pg'
        ? { client: 'pg', url: '${DATABASE_URL}', schema: this.schema }
        : { client: 'sqlite', filename: path.join(this.dir, 'conveyor.db') };
    const common: Json = {
      instance: { hostId, dataDir: path.join(home, 'data') },
      database,
      host: { address: '127.0.0.1', port: 0, token: '${CONVEYOR_API_TOKEN}', shutdownGraceMs: 5_000 },
      workspaces: { root: path.join(home, 'workspaces'), sandboxBind: [`${path.dirname(DEMO_AGENT)}:ro`] },
      worker: { maxConcurrency: 2, pollIntervalMs: 50, heartbeatIntervalMs: 500, backoffBaseMs: 200, backoffMaxMs: 2_000, retryBudget: 5 },
      workItemPrefix: 'SHOP',
    };
    const agent = { defaultCommand: `node "${DEMO_AGENT}" "$CONVEYOR_ROLE"`, logDir: path.join(home, 'logs') };
    if (this.options.profile === 'local') {
      return merge(common, {
        repos: { [FAULT_REPO]: { url: this.origin.origin, testCommand: 'node --test' } },
        plugins: {
          'tracker-local': { defaultRepo: FAULT_REPO, autoApprove: false },
          'forge-git': { logDir: path.join(home, 'logs') },
          'agent-script': agent,
          'agent-claude': { enabled: false },
        },
      });
    }
    return merge(common, {
      repos: { [FAULT_REPO]: { url: this.origin.origin } },
      plugins: {
        'tracker-local': { enabled: false },
        'forge-git': { enabled: false },
        'agent-script': agent,
        'agent-claude': { enabled: false },
        'tracker-plane': {
          enabled: true,
          baseUrl: this.plane!.url,
          workspaceSlug: 'acme',
          apiKey: '${PLANE_API_KEY}',
          webhookSecret: '${PLANE_WEBHOOK_SECRET}',
          botUserId: this.plane!.bot.id,
          projects: { [this.plane!.projectId]: { repo: FAULT_REPO } },
        },
        'forge-gitea': { enabled: true, baseUrl: this.gitea!.url, token: '${GITEA_TOKEN}', webhookSecret: '${GITEA_WEBHOOK_SECRET}' },
      },
    });
  }
}
