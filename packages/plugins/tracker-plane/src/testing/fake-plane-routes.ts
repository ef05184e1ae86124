import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FakePlane, FakePlaneCall } from './fake-plane.js';
import { commentForApi, issueForApi, planeNow, stateForApi, type FakeIssue } from './fake-plane-model.js';

type Params = { slug: string; projectId: string; issueId?: string };
type Req = FastifyRequest<{ Params: Params; Querystring: Record<string, string> }>;

const NOT_FOUND = { error: 'The requested resource does not exist.' };
/** The paginator's default and cap in Plane's code (its docs say 100; the client never asks for more). */
const DEFAULT_PER_PAGE = 1000;

/**
 * The public REST API of Plane as the fake answers it: the same paths (both the
 * `work-items` and the deprecated `issues` prefix), `X-API-Key` auth answered 403
 * like DRF does, rate-limit headers on every answer, and the cursor paginator's shape.
 */
export function mountFakePlaneRoutes(app: FastifyInstance, plane: FakePlane): void {
  const calls = new WeakMap<FastifyRequest, FakePlaneCall>();
  let windowStart = Date.now();
  let used = 0;

  app.addHook('preHandler', async (req, reply) => {
    const url = new URL(req.url, 'http://fake');
    const key = req.headers['x-api-key'];
    const call: FakePlaneCall = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), apiKey: typeof key === 'string' ? key : null, body: req.body ?? null };
    plane.calls.push(call);
    calls.set(req, call);
    if (typeof key !== 'string' || key === '') return reply.code(403).send({ detail: 'Authentication credentials were not provided.' });
    if (key !== plane.apiKey) return reply.code(403).send({ detail: 'Given API token is not valid' });
    const injected = plane.throttles.shift();
    if (injected) return reply.code(429).headers(injected).send({ detail: 'Request was throttled.' });
    if (Date.now() - windowStart >= plane.rateWindowMs) {
      windowStart = Date.now();
      used = 0;
    }
    used++;
    const reset = Math.ceil((windowStart + plane.rateWindowMs) / 1000);
    reply.headers({ 'X-RateLimit-Remaining': String(Math.max(0, plane.rateLimit - used)), 'X-RateLimit-Reset': String(reset) });
    if (used > plane.rateLimit) {
      const wait = Math.max(1, reset - Math.floor(Date.now() / 1000));
      return reply.code(429).header('Retry-After', String(wait)).send({ detail: `Request was throttled. Expected available in ${wait} seconds.` });
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    const call = calls.get(req);
    if (call) call.status = reply.statusCode;
  });

  const project = (req: Req, reply: FastifyReply): string | null => {
    if (req.params.slug !== plane.workspaceSlug || !plane.states.has(req.params.projectId)) {
      void reply.code(404).send(NOT_FOUND);
      return null;
    }
    return req.params.projectId;
  };
  const issueOf = (req: Req, reply: FastifyReply): FakeIssue | null => {
    const projectId = project(req, reply);
    if (!projectId) return null;
    const issue = plane.issues.get(req.params.issueId ?? '');
    if (!issue || issue.project !== projectId) {
      void reply.code(404).send(NOT_FOUND);
      return null;
    }
    return issue;
  };
  const render = (req: Req, issue: FakeIssue) => issueForApi(issue, (req.query.expand ?? '').split(',').includes('state') ? plane.stateOf(issue) : undefined);

  const base = '/api/v1/workspaces/:slug/projects/:projectId';
  app.get(`${base}/states/`, async (req: Req, reply) => {
    const projectId = project(req, reply);
    if (projectId) return paginate(req, reply, plane.states.get(projectId)!.map(stateForApi));
  });
  for (const kind of ['work-items', 'issues']) {
    app.get(`${base}/${kind}/`, async (req: Req, reply) => {
      const projectId = project(req, reply);
      if (!projectId) return;
      // Plane lists newest first (`-created_at`).
      const items = [...plane.issues.values()].filter((i) => i.project === projectId).reverse();
      return paginate(req, reply, items.map((i) => render(req, i)));
    });
    app.get(`${base}/${kind}/:issueId/`, async (req: Req, reply) => {
      const issue = issueOf(req, reply);
      if (issue) return render(req, issue);
    });
    app.patch(`${base}/${kind}/:issueId/`, async (req: Req, reply) => {
      const issue = issueOf(req, reply);
      if (!issue) return;
      const body = (req.body ?? {}) as { state?: unknown; name?: unknown };
      const changes: { field: string; oldValue: unknown; newValue: unknown }[] = [];
      if (body.state !== undefined) {
        const state = plane.states.get(issue.project)!.find((s) => s.id === body.state);
        if (!state) return reply.code(400).send({ error: 'State is not valid please pass a valid state_id' });
        if (state.id !== issue.state) changes.push({ field: 'state', oldValue: issue.state, newValue: state.id });
        issue.state = state.id;
      }
      if (typeof body.name === 'string' && body.name !== issue.name) {
        changes.push({ field: 'name', oldValue: issue.name, newValue: body.name });
        issue.name = body.name;
      }
      if (changes.length) {
        issue.updatedAt = planeNow();
        issue.updatedBy = plane.bot.id;
      }
      // One delivery per changed key, with the API key's owner as actor: what Conveyor must learn to ignore.
      if (plane.echoApiChanges) for (const c of changes) plane.webhooks.emit('issue', 'updated', plane.expand(issue), { ...c, actor: plane.bot });
      return render(req, issue);
    });
    // The relations map: every relation type is a key, values are work item ids (`blocking` is the reverse of `blocked_by`).
    app.get(`${base}/${kind}/:issueId/relations/`, async (req: Req, reply) => {
      const issue = issueOf(req, reply);
      if (!issue) return;
      const blocking = [...plane.issues.values()].filter((i) => i.blockedBy?.includes(issue.id)).map((i) => i.id);
      return { blocking, blocked_by: [...(issue.blockedBy ?? [])], duplicate: [], relates_to: [], start_after: [], start_before: [], finish_after: [], finish_before: [] };
    });
    app.get(`${base}/${kind}/:issueId/comments/`, async (req: Req, reply) => {
      const issue = issueOf(req, reply);
      if (!issue) return;
      return paginate(req, reply, plane.comments.filter((c) => c.issue === issue.id).map(commentForApi));
    });
    app.post(`${base}/${kind}/:issueId/comments/`, async (req: Req, reply) => {
      const issue = issueOf(req, reply);
      if (!issue) return;
      const body = (req.body as { comment_html?: unknown; external_id?: unknown; external_source?: unknown } | null) ?? {};
      const html = body.comment_html;
      if (typeof html !== 'string') return reply.code(400).send({ comment_html: ['This field is required.'] });
      // As Plane's IssueCommentAPIEndpoint: the same external id and source twice in a project is a 409 naming the first.
      const external = typeof body.external_id === 'string' && typeof body.external_source === 'string' ? { id: body.external_id, source: body.external_source } : null;
      const seen = external && plane.comments.find((c) => c.project === issue.project && c.externalId === external.id && c.externalSource === external.source);
      if (seen) return reply.code(409).send({ error: 'Issue Comment with the same external id and external source already exists', id: seen.id });
      return reply.code(201).send(commentForApi(plane.recordComment(issue, html, plane.bot, plane.echoApiChanges, external)));
    });
  }
}

/** `utils/paginator.py`: cursor `"{per_page}:{page}:{is_prev}"`, and its response envelope. */
function paginate(req: Req, reply: FastifyReply, items: unknown[]): unknown {
  const cursorText = req.query.cursor;
  const cursor = cursorText === undefined ? null : /^(\d+):(-?\d+):([01])$/.exec(cursorText);
  if (cursorText !== undefined && !cursor) return reply.code(400).send({ error: 'Invalid cursor parameter.' });
  const perPageText = req.query.per_page;
  const perPage = perPageText !== undefined ? Number(perPageText) : cursor ? Number(cursor[1]) : DEFAULT_PER_PAGE;
  if (!Number.isInteger(perPage) || perPage < 1) return reply.code(400).send({ error: 'Invalid per_page parameter.' });
  const size = Math.min(perPage, DEFAULT_PER_PAGE);
  const page = Math.max(0, cursor ? Number(cursor[2]) : 0);
  const results = items.slice(page * size, page * size + size);
  return {
    grouped_by: null,
    sub_grouped_by: null,
    total_count: items.length,
    next_cursor: `${size}:${page + 1}:0`,
    prev_cursor: `${size}:${page - 1}:1`,
    next_page_results: (page + 1) * size < items.length,
    prev_page_results: page > 0,
    count: results.length,
    total_pages: Math.ceil(items.length / size),
    total_results: items.length,
    extra_stats: null,
    results,
  };
}
