import Fastify, { type FastifyInstance } from 'fastify';
import { fakeGiteaRoutes } from './fake-gitea-routes.js';
import { fakeSha, giteaTime, type FakeCommit, type FakePull, type FakeRepo, type FakeStatus, type FakeUser } from './fake-state.js';
import { FakeWebhooks, type FakeDelivery, type FakeWebhookTarget } from './fake-webhooks.js';
import { GiteaPayloads } from './gitea-payloads.js';

/** Options of `FakeGitea.start()`. */
export interface FakeGiteaOptions {
  /** The only token the API accepts. @default 'fake-gitea-token' */
  token?: string;
  /** Where webhooks go; settable later through `fake.webhooks.target`. */
  webhook?: FakeWebhookTarget;
  /** Gitea's `MAX_RESPONSE_ITEMS`: the largest page a list answers. @default 50 */
  maxResponseItems?: number;
}

/** One API call the fake answered. */
export interface RecordedCall {
  method: string;
  /** Path as sent (still URL-encoded), without the query. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  status: number;
}

/**
 * A Gitea server in memory for tests: fastify on 127.0.0.1 (port 0), repositories
 * with branches, pull requests and commit statuses, the REST answers and error
 * bodies of Gitea 1.23+, every call recorded, and signed webhooks sent the way
 * Gitea sends them. Start with `FakeGitea.start()`, end with `close()`.
 */
export class FakeGitea {
  readonly calls: RecordedCall[] = [];
  readonly repos = new Map<string, FakeRepo>();
  readonly webhooks: FakeWebhooks;
  /** The token's user (Conveyor's bot): author of PRs opened through the API. */
  readonly bot: FakeUser = { id: 12, login: 'conveyor', fullName: 'Conveyor Bot', email: 'conveyor@noreply.gitea.test' };
  /** A person: merges and closes done "in the web UI". */
  readonly person: FakeUser = { id: 7, login: 'dana', fullName: 'Dana', email: 'dana@noreply.gitea.test' };
  readonly token: string;
  readonly maxResponseItems: number;
  #app: FastifyInstance | null = null;
  #url = '';
  #ids = 100;

  private constructor(options: FakeGiteaOptions) {
    this.token = options.token ?? 'fake-gitea-token';
    this.maxResponseItems = options.maxResponseItems ?? 50;
    this.webhooks = new FakeWebhooks(options.webhook ?? null);
  }

  static async start(options: FakeGiteaOptions = {}): Promise<FakeGitea> {
    const fake = new FakeGitea(options);
    const app = Fastify({ logger: false });
    fakeGiteaRoutes(app, fake);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    if (!addr || typeof addr === 'string') throw new Error('the fake Gitea did not get a TCP port');
    fake.#app = app;
    fake.#url = `http://127.0.0.1:${addr.port}`;
    return fake;
  }

  /** `http://127.0.0.1:<port>`: the `baseUrl` to configure. */
  get url(): string {
    return this.#url;
  }

  get payloads(): GiteaPayloads {
    return new GiteaPayloads(this.#url);
  }

  async close(): Promise<void> {
    await this.#app?.close();
    this.#app = null;
  }

  nextId(): number {
    return ++this.#ids;
  }

  /** Adds a repository whose default branch has one commit. */
  addRepo(fullName: string, options: { defaultBranch?: string; protectedBranches?: string[] } = {}): FakeRepo {
    const [owner, name] = fullName.split('/');
    if (!owner || !name) throw new Error(`repository "${fullName}" must be owner/name`);
    const repo: FakeRepo = {
      id: this.nextId(),
      owner: { id: this.nextId(), login: owner, fullName: '', email: '' },
      name,
      defaultBranch: options.defaultBranch ?? 'main',
      protectedBranches: new Set(options.protectedBranches ?? []),
      branches: new Map(),
      commits: new Map(),
      pulls: [],
      statuses: [],
    };
    this.repos.set(fullName.toLowerCase(), repo);
    this.push(fullName, repo.defaultBranch, fakeSha(`${fullName}:initial`), { message: 'initial commit\n' });
    return repo;
  }

  /** The repository; throws when the test never added it. */
  repo(fullName: string): FakeRepo {
    const repo = this.repos.get(fullName.toLowerCase());
    if (!repo) throw new Error(`the fake Gitea has no repository "${fullName}"`);
    return repo;
  }

  /** Moves (or creates) a branch to `sha`, as a `git push` would. */
  push(fullName: string, branch: string, sha: string, options: { message?: string; files?: string[]; by?: FakeUser } = {}): { before: string; after: string; commit: FakeCommit } {
    const repo = this.repo(fullName);
    const before = repo.branches.get(branch) ?? '0000000000000000000000000000000000000000';
    const commit: FakeCommit = { sha, message: options.message ?? `update ${branch}\n`, author: options.by ?? this.bot, timestamp: giteaTime(), added: options.files ?? [], removed: [], modified: [] };
    repo.commits.set(sha, commit);
    repo.branches.set(branch, sha);
    return { before, after: sha, commit };
  }

  /** Records a commit status (what CI posts), without a webhook. */
  setStatus(fullName: string, sha: string, state: string, context: string, options: { targetUrl?: string; description?: string } = {}): FakeStatus {
    const repo = this.repo(fullName);
    const now = giteaTime();
    const status: FakeStatus = { id: this.nextId(), sha, context, state, targetUrl: options.targetUrl ?? `${this.#url}/${fullName}/actions/runs/1/jobs/0`, description: options.description ?? state, creator: this.bot, createdAt: now, updatedAt: now };
    repo.statuses.push(status);
    return status;
  }

  /** Records a status and sends its `status` webhook. */
  async sendStatus(fullName: string, sha: string, state: string, context: string, options: { targetUrl?: string; description?: string; emptyEventHeader?: boolean } = {}): Promise<FakeDelivery> {
    const repo = this.repo(fullName);
    const status = this.setStatus(fullName, sha, state, context, options);
    const commit = repo.commits.get(sha) ?? { sha, message: '', author: this.bot, timestamp: status.createdAt, added: [], removed: [], modified: [] };
    return this.webhooks.send('status', this.payloads.statusPayload(repo, status, commit), { emptyEventHeader: options.emptyEventHeader === true });
  }

  /** Pushes and sends the `push` webhook. */
  async sendPush(fullName: string, branch: string, sha: string, options: { message?: string; files?: string[] } = {}): Promise<FakeDelivery> {
    const repo = this.repo(fullName);
    const { before, commit } = this.push(fullName, branch, sha, options);
    return this.webhooks.send('push', this.payloads.pushPayload(repo, `refs/heads/${branch}`, before, [commit], this.bot));
  }

  /** The pull request; throws when there is none. */
  pull(fullName: string, number: number): FakePull {
    const pr = this.repo(fullName).pulls.find((p) => p.number === number);
    if (!pr) throw new Error(`the fake Gitea has no pull request ${fullName}#${number}`);
    return pr;
  }

  /** Merges as a person would in the web UI (the base moves to a new merge commit). */
  merge(fullName: string, number: number, by: FakeUser = this.person): FakePull {
    const repo = this.repo(fullName);
    const pr = this.pull(fullName, number);
    const now = giteaTime();
    const sha = fakeSha(`${fullName}#${number}:merge`);
    this.push(fullName, pr.base, sha, { message: `Merge pull request '${pr.title}' (#${number})\n`, by });
    Object.assign(pr, { state: 'closed', merged: true, mergedAt: now, mergeSha: sha, mergedBy: by, updatedAt: now, closedAt: now });
    return pr;
  }

  /** Merges in "the web UI" and sends the `pull_request` webhook (`closed`, `merged: true`). */
  async mergeAndNotify(fullName: string, number: number): Promise<FakeDelivery> {
    const pr = this.merge(fullName, number);
    return this.webhooks.send('pull_request', this.payloads.pullRequestPayload(this.repo(fullName), pr, 'closed', this.bot, this.person));
  }

  /** Closes without merging, as a person would in the web UI. */
  closePull(fullName: string, number: number): FakePull {
    const pr = this.pull(fullName, number);
    const now = giteaTime();
    return Object.assign(pr, { state: 'closed' as const, updatedAt: now, closedAt: now });
  }

  /** Closes without merging and sends the `pull_request` webhook (`closed`, `merged: false`). */
  async closeAndNotify(fullName: string, number: number): Promise<FakeDelivery> {
    const pr = this.closePull(fullName, number);
    return this.webhooks.send('pull_request', this.payloads.pullRequestPayload(this.repo(fullName), pr, 'closed', this.bot, this.person));
  }

  /** The calls made with `method` whose path starts with `prefix` (e.g. `/api/v1/repos/acme/app/branches`). */
  callsTo(method: string, prefix = ''): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && c.path.startsWith(prefix));
  }
}
