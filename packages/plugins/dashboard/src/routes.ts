import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import type { RouteDescriptor, RouteRequest, RouteResponse } from '@conveyor/core';
import { taskActions } from './actions.js';
import { loadCost, loadQueue, loadTaskDetail, loadTaskRows, type DashboardSources, type TaskFilter } from './data.js';
import { html, type Html } from './html.js';
import { costPage } from './pages/cost-page.js';
import { layout, type PageName } from './pages/layout.js';
import { queuePage } from './pages/queue-page.js';
import { taskPage } from './pages/task-page.js';
import { tasksPage } from './pages/tasks-page.js';

export interface DashboardOptions {
  title: string;
  taskLimit: number;
  costDays: number;
  costTasks: number;
}

/**
 * Pages allow only this origin's own script and style: an agent's text that
 * slipped through escaping still could not load or run anything.
 */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const ASSET_DIR = fileURLToPath(new URL('../../assets/', import.meta.url));
const ASSETS: Record<string, string> = { 'dashboard.css': 'text/css; charset=utf-8', 'dashboard.js': 'text/javascript; charset=utf-8' };

const TaskQuery = Type.Object({
  // An enum, not a union of literals: the 400 then names the allowed values once.
  state: Type.Unsafe<TaskFilter['state']>({ type: 'string', enum: ['all', 'live', 'blocked', 'done'], default: 'all' }),
  repo: Type.Optional(Type.String({ maxLength: 200 })),
  q: Type.Optional(Type.String({ maxLength: 200 })),
});
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

interface View {
  title: string;
  status: number;
  content: Html;
}

type Render = (request: RouteRequest) => Promise<View>;

/**
 * The dashboard's routes. Each page is `public`: with reads open it is rendered
 * whole on the server; with `host.readAuth: token` it is a shell whose script asks
 * for the token and loads the same content from the page's fragment, a `read`
 * route. Actions are the API's own routes, called by the script with the token.
 */
export function dashboardRoutes(src: DashboardSources, o: DashboardOptions): RouteDescriptor[] {
  const filterOf = (q: Record<string, unknown>): TaskFilter => ({
    state: (q.state as TaskFilter['state']) ?? 'all',
    repo: typeof q.repo === 'string' && q.repo !== '' ? q.repo : null,
    q: typeof q.q === 'string' && q.q.trim() !== '' ? q.q.trim() : null,
  });
  const qs = (q: Record<string, unknown>): string => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (typeof v === 'string' && v !== '') p.set(k, v);
    const s = p.toString();
    return s ? `?${s}` : '';
  };

  const pages: { page: PageName; url: string; fragment: (r: RouteRequest) => string; schema?: RouteDescriptor['schema']; render: Render }[] = [
    {
      page: 'tasks',
      url: '/ui',
      schema: { querystring: TaskQuery },
      fragment: (r) => `/ui/fragment/tasks${qs(r.query)}`,
      render: async (r) => {
        const filter = filterOf(r.query);
        const { rows, repos } = await loadTaskRows(src, filter, o.taskLimit);
        return { title: 'Tasks', status: 200, content: tasksPage({ rows, repos, filter, pipeline: src.pipeline, now: src.now() }) };
      },
    },
    {
      page: 'task',
      url: '/ui/tasks/:id',
      schema: { params: IdParams },
      fragment: (r) => `/ui/fragment/tasks/${Number(r.params.id)}`,
      render: async (r) => {
        const id = Number(r.params.id);
        const detail = await loadTaskDetail(src, id);
        if (!detail) return { title: `Task ${id}`, status: 404, content: html`<h1>Task ${id}</h1><p class="notice">Task ${id} does not exist. <a href="/ui">All tasks</a></p>` };
        const list = taskActions(detail.task, detail.waitingFor, src.instance.routes(), { canCancel: src.canCancel() });
        return { title: `${detail.task.workItemId} ${detail.task.title}`, status: 200, content: taskPage(detail, list, src.pipeline, src.now()) };
      },
    },
    {
      page: 'queue',
      url: '/ui/queue',
      fragment: () => '/ui/fragment/queue',
      render: async () => ({ title: 'Queue', status: 200, content: queuePage(await loadQueue(src)) }),
    },
    {
      page: 'cost',
      url: '/ui/cost',
      fragment: () => '/ui/fragment/cost',
      render: async () => ({ title: 'Cost', status: 200, content: costPage(await loadCost(src, o.costTasks), src.pipeline.stages.map((s) => s.name), o.costDays, src.now()) }),
    },
  ];

  const routes: RouteDescriptor[] = [];
  for (const p of pages) {
    routes.push({
      method: 'GET',
      url: p.url,
      auth: 'public',
      ...(p.schema ? { schema: p.schema } : {}),
      description: `dashboard: the ${p.page} page (its data only when reads are open; else a shell that asks for the token)`,
      handler: async (request): Promise<RouteResponse> => {
        const fragmentUrl = p.fragment(request);
        if (!request.readsOpen) {
          return { status: 200, headers: PAGE_HEADERS, body: layout({ title: p.page[0]!.toUpperCase() + p.page.slice(1), page: p.page, fragmentUrl, content: null, instanceTitle: o.title }).text };
        }
        const view = await p.render(request);
        return { status: view.status, headers: PAGE_HEADERS, body: layout({ title: view.title, page: p.page, fragmentUrl, content: view.content, instanceTitle: o.title }).text };
      },
    });
    routes.push({
      method: 'GET',
      url: p.url === '/ui' ? '/ui/fragment/tasks' : p.url.replace('/ui/', '/ui/fragment/'),
      auth: 'none',
      ...(p.schema ? { schema: p.schema } : {}),
      description: `dashboard: the ${p.page} page's content, for live updates`,
      handler: async (request): Promise<RouteResponse> => {
        const view = await p.render(request);
        return { status: view.status, headers: { ...PAGE_HEADERS, 'x-page-title': encodeURIComponent(view.title) }, body: view.content.text };
      },
    });
  }
  routes.push({
    method: 'GET',
    url: '/ui/token-check',
    auth: 'token',
    description: 'dashboard: 200 when the bearer token is right (the page checks a token before keeping it)',
    handler: async () => ({ status: 200, body: { ok: true } }),
  });
  for (const [file, type] of Object.entries(ASSETS)) {
    const body = fs.readFileSync(ASSET_DIR + file, 'utf8');
    routes.push({
      method: 'GET',
      url: `/ui/assets/${file}`,
      auth: 'public',
      description: `dashboard: ${file}`,
      handler: async () => ({ status: 200, headers: { 'content-type': type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' }, body }),
    });
  }
  return routes;
}
