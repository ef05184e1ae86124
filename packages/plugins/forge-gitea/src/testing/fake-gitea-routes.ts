import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FakeGitea } from './fake-gitea.js';
import { giteaTime, type FakePull, type FakeRepo, type FakeStatus } from './fake-state.js';

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: Record<string, unknown> | undefined }>;

const MERGE_STYLES = ['merge', 'rebase', 'rebase-merge', 'squash', 'fast-forward-only', 'manually-merged'];

/**
 * The REST surface of the fake: Gitea's routes, statuses and error bodies
 * (`{"message", "url"}`) for the calls Conveyor makes.
 */
export function fakeGiteaRoutes(app: FastifyInstance, fake: FakeGitea): void {
  const error = (reply: FastifyReply, status: number, message: string) => reply.code(status).send({ message, url: `${fake.url}/api/swagger` });
  const repoOf = (req: Req): FakeRepo | undefined => fake.repos.get(`${req.params.owner}/${req.params.repo}`.toLowerCase());
  // Gitea's APIErrorNotFound(err): a generic message, the cause in `errors`.
  const notFound = (reply: FastifyReply, ...errors: string[]) => reply.code(404).send({ errors, message: "The target couldn't be found.", url: `${fake.url}/api/swagger` });
  const pullJson = (repo: FakeRepo, p: FakePull) => fake.payloads.pullRequest(repo, p, fake.bot);
  const page = (req: Req) => ({ page: Math.max(1, Number(req.query.page) || 1), limit: Math.min(fake.maxResponseItems, Math.max(1, Number(req.query.limit) || 30)) });

  app.addHook('onRequest', async (req, reply) => {
    const auth = String(req.headers.authorization ?? '');
    const given = auth.replace(/^(token|bearer)\s+/i, '');
    if (!auth) return error(reply, 401, 'token is required');
    if (given !== fake.token || given === auth) return error(reply, 401, 'invalid username, password or token');
  });
  app.addHook('onResponse', async (req, reply) => {
    const [path = '', qs = ''] = req.url.split('?');
    fake.calls.push({ method: req.method, path, query: Object.fromEntries(new URLSearchParams(qs)), body: req.body ?? null, headers: { ...req.headers }, status: reply.statusCode });
  });

  app.get('/api/v1/user', async () => fake.payloads.user(fake.bot));

  app.get('/api/v1/repos/:owner/:repo', async (req: Req, reply) => {
    const repo = repoOf(req);
    return repo ? fake.payloads.repository(repo) : notFound(reply);
  });

  app.get('/api/v1/repos/:owner/:repo/branches/*', async (req: Req, reply) => {
    const repo = repoOf(req);
    if (!repo) return notFound(reply);
    const name = req.params['*']!;
    const sha = repo.branches.get(name);
    if (!sha) return notFound(reply, `branch does not exist [repo_id: ${repo.id} name: ${name}]`);
    const commit = repo.commits.get(sha)!;
    return { name, commit: fake.payloads.commit(repo, commit), protected: repo.protectedBranches.has(name), effective_branch_protection_name: '' };
  });

  app.delete('/api/v1/repos/:owner/:repo/branches/*', async (req: Req, reply) => {
    const repo = repoOf(req);
    if (!repo) return notFound(reply);
    const name = req.params['*']!;
    if (!repo.branches.has(name)) return notFound(reply, `branch does not exist [repo_id: ${repo.id} name: ${name}]`);
    if (name === repo.defaultBranch) return error(reply, 403, 'can not delete default branch');
    if (repo.protectedBranches.has(name)) return error(reply, 403, 'branch protected');
    repo.branches.delete(name);
    return reply.code(204).send();
  });

  app.post('/api/v1/repos/:owner/:repo/pulls', async (req: Req, reply) => {
    const repo = repoOf(req);
    if (!repo) return notFound(reply);
    const head = String(req.body?.head ?? '');
    const base = String(req.body?.base ?? '');
    if (!repo.branches.has(head) || !repo.branches.has(base)) return notFound(reply);
    if (head === base) return error(reply, 422, 'Invalid PullRequest: There are no changes between the head and the base');
    const open = repo.pulls.find((p) => p.state === 'open' && p.head === head && p.base === base);
    if (open) {
      return error(reply, 409, `pull request already exists for these targets [id: ${open.id}, issue_id: ${open.id + 1000}, head_repo_id: ${repo.id}, base_repo_id: ${repo.id}, head_branch: ${head}, base_branch: ${base}]`);
    }
    const now = giteaTime();
    const pr: FakePull = {
      id: fake.nextId(),
      number: repo.pulls.length + 1,
      title: String(req.body?.title ?? ''),
      body: String(req.body?.body ?? ''),
      head,
      base,
      state: 'open',
      merged: false,
      mergedAt: null,
      mergeSha: null,
      mergedBy: null,
      baseSha: repo.branches.get(base)!,
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      conflict: false,
      blocked: null,
    };
    repo.pulls.push(pr);
    return reply.code(201).send(pullJson(repo, pr));
  });

  app.get('/api/v1/repos/:owner/:repo/pulls', async (req: Req, reply) => {
    const repo = repoOf(req);
    if (!repo) return notFound(reply);
    const state = req.query.state ?? 'open';
    const all = repo.pulls.filter((p) => state === 'all' || p.state === state).reverse();
    const { page: n, limit } = page(req);
    reply.header('X-Total-Count', String(all.length));
    return all.slice((n - 1) * limit, n * limit).map((p) => pullJson(repo, p));
  });

  app.get('/api/v1/repos/:owner/:repo/pulls/:index', async (req: Req, reply) => {
    const repo = repoOf(req);
    const pr = repo?.pulls.find((p) => p.number === Number(req.params.index));
    return repo && pr ? pullJson(repo, pr) : notFound(reply);
  });

  app.post('/api/v1/repos/:owner/:repo/pulls/:index/merge', async (req: Req, reply) => {
    const repo = repoOf(req);
    const pr = repo?.pulls.find((p) => p.number === Number(req.params.index));
    if (!repo || !pr) return notFound(reply);
    // Go decodes field names case-insensitively: `Do` and `do` both work.
    const style = String(req.body?.Do ?? req.body?.do ?? 'merge');
    if (!MERGE_STYLES.includes(style)) return error(reply, 422, `[Do]: Do must be one of ${MERGE_STYLES.join(', ')}`);
    if (pr.merged) return error(reply, 405, '');
    if (pr.state === 'closed') return notFound(reply);
    if (pr.blocked) return error(reply, 405, pr.blocked);
    if (pr.conflict) return reply.code(409).send({ Style: style, StdOut: '', StdErr: 'CONFLICT (content): Merge conflict in README.md', Err: {} });
    const pinned = req.body?.head_commit_id;
    if (typeof pinned === 'string' && pinned !== '' && pinned !== (repo.branches.get(pr.head) ?? pr.baseSha)) return error(reply, 409, 'head out of date');
    fake.merge(`${repo.owner.login}/${repo.name}`, pr.number, fake.bot);
    return reply.code(200).send();
  });

  app.get('/api/v1/repos/:owner/:repo/commits/:ref/status', async (req: Req, reply) => {
    const repo = repoOf(req);
    if (!repo) return notFound(reply);
    const ref = req.params.ref!;
    const sha = repo.branches.get(ref) ?? (/^[0-9a-f]{40}$/.test(ref) ? ref : null);
    if (!sha) return notFound(reply);
    const latest = new Map<string, FakeStatus>();
    for (const s of repo.statuses) if (s.sha === sha) latest.set(s.context, s);
    const all = [...latest.values()];
    const { page: n, limit } = page(req);
    // As Gitea does (`ToCombinedStatus`): state and total_count describe this page only.
    const pageOf = all.slice((n - 1) * limit, n * limit);
    const states = pageOf.map((s) => s.state);
    const state = !pageOf.length ? '' : states.some((s) => s === 'failure' || s === 'error') ? 'failure' : states.includes('pending') ? 'pending' : 'success';
    const full = `${repo.owner.login}/${repo.name}`;
    return {
      state,
      sha,
      total_count: pageOf.length,
      // Gitea's quirk: no statuses is `null`, not `[]`.
      statuses: all.length ? all.slice((n - 1) * limit, n * limit).map((s) => fake.payloads.status(repo, s)) : null,
      repository: fake.payloads.repository(repo),
      commit_url: `${fake.url}/api/v1/repos/${full}/commits/${sha}`,
      url: `${fake.url}/api/v1/repos/${full}/commits/${sha}/status`,
    };
  });
}
