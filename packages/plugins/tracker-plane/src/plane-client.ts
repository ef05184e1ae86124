import { PlaneApiError } from './errors.js';
import { RateLimitGate, type RateLimitOptions } from './rate-limit.js';

/** A workflow state of a project (`GET …/states/`). */
export interface PlaneState {
  id: string;
  name: string;
  group: string;
  color?: string;
}

/** A work item's relations map; every type is a key, each value a list of work item ids. */
export interface PlaneRelations {
  blocking?: string[];
  blocked_by?: string[];
  [type: string]: string[] | undefined;
}

/** A work item as the public API returns it (`IssueSerializer`); `state` is a UUID unless expanded. */
export interface PlaneIssue {
  id: string;
  name: string;
  description_html?: string | null;
  sequence_id?: number | null;
  state: string | { id: string; name?: string } | null;
  updated_at?: string | null;
  project?: string;
  [key: string]: unknown;
}

/** A cursor page (`utils/paginator.py`). */
interface Page<T> {
  results: T[];
  next_cursor?: string | null;
  next_page_results?: boolean;
}

/** How to reach one Plane workspace, and the client's bounds. */
export interface PlaneClientOptions extends RateLimitOptions {
  /** Plane's base URL, e.g. `https://plane.example.com` (the `/api/v1/…` paths are appended). */
  baseUrl: string;
  apiKey: string;
  workspaceSlug: string;
  /** Injected so tests talk to a fake server without global interception. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per request. @default 15000 */
  requestTimeoutMs?: number;
  /** Retries of a 429 before giving up. @default 3 */
  maxRetries?: number;
  /** How long a project's states list is trusted. @default 300000 */
  statesTtlMs?: number;
}

type Query = Record<string, string | number | undefined>;

/** The fields of a Plane comment Conveyor reads. */
export interface PlaneComment {
  id: string;
  comment_html?: string | null;
  comment_stripped?: string | null;
  actor?: string | null;
  created_by?: string | null;
  created_at?: string | null;
}

/** Plane's page-size cap: the code allows 1000 but the documentation says 100, so never ask for more. */
export const PLANE_MAX_PER_PAGE = 100;
/** A loop guard: a server that keeps saying "more" must not page forever. */
const MAX_PAGES = 10_000;

/**
 * Plane's REST API (`/api/v1/workspaces/{slug}/projects/{project}/…`) with the
 * `X-API-Key` header, cursor pagination, a states cache per project and the rate
 * limits honoured. Every failure is a `PlaneApiError` carrying Plane's status and message.
 */
export class PlaneClient {
  readonly #o: Required<Pick<PlaneClientOptions, 'requestTimeoutMs' | 'maxRetries' | 'statesTtlMs'>> & PlaneClientOptions;
  readonly #fetch: typeof fetch;
  readonly #gate: RateLimitGate;
  readonly #now: () => number;
  readonly #states = new Map<string, { at: number; states: Promise<PlaneState[]> }>();

  constructor(options: PlaneClientOptions) {
    this.#o = { requestTimeoutMs: 15_000, maxRetries: 3, statesTtlMs: 300_000, ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#gate = new RateLimitGate(options);
    this.#now = options.now ?? Date.now;
  }

  /** Every work item of a project, page by page (`per_page` ≤ 100); `stateIds` filters here, since the public list has no state filter. */
  async *listIssues(projectId: string, options: { perPage?: number; stateIds?: readonly string[] } = {}): AsyncGenerator<PlaneIssue> {
    const wanted = options.stateIds ? new Set(options.stateIds) : null;
    for await (const issue of this.#paginate<PlaneIssue>(this.#project(projectId, 'work-items/'), options.perPage)) {
      const stateId = typeof issue.state === 'string' ? issue.state : (issue.state?.id ?? null);
      if (!wanted || (stateId !== null && wanted.has(stateId))) yield issue;
    }
  }

  /** One work item (`GET …/work-items/{id}/`). */
  getIssue(projectId: string, issueId: string): Promise<PlaneIssue> {
    return this.#request<PlaneIssue>('GET', this.#project(projectId, `work-items/${enc(issueId)}/`));
  }

  /** The project's states, cached for `statesTtlMs`; `refresh` reads them again (a state was added or renamed). */
  listStates(projectId: string, options: { refresh?: boolean } = {}): Promise<PlaneState[]> {
    const hit = this.#states.get(projectId);
    if (hit && !options.refresh && this.#now() - hit.at < this.#o.statesTtlMs) return hit.states;
    const states = (async () => {
      const out: PlaneState[] = [];
      for await (const s of this.#paginate<PlaneState>(this.#project(projectId, 'states/'))) out.push(s);
      return out;
    })();
    this.#states.set(projectId, { at: this.#now(), states });
    // A failed read must not be served from the cache.
    states.catch(() => this.#states.get(projectId)?.states === states && this.#states.delete(projectId));
    return states;
  }

  /** The state with that id, reading the list again once when the cache does not know it. */
  async stateById(projectId: string, stateId: string): Promise<PlaneState | null> {
    const find = (list: PlaneState[]) => list.find((s) => s.id === stateId) ?? null;
    return find(await this.listStates(projectId)) ?? find(await this.listStates(projectId, { refresh: true }));
  }

  /** The state with that name (case-insensitive); unknown → `PLANE_UNKNOWN_STATE` naming the known ones. */
  async stateByName(projectId: string, name: string): Promise<PlaneState> {
    const key = name.trim().toLowerCase();
    const find = (list: PlaneState[]) => list.find((s) => s.name.trim().toLowerCase() === key);
    const found = find(await this.listStates(projectId)) ?? find(await this.listStates(projectId, { refresh: true }));
    if (found) return found;
    const known = (await this.listStates(projectId)).map((s) => `"${s.name}"`).join(', ');
    throw new PlaneApiError('PLANE_UNKNOWN_STATE', `Plane project ${projectId} has no state "${name}" (known states: ${known || 'none'}); add it in Plane or map it in plugins.tracker-plane.statusNames`);
  }

  /** Moves a work item to the state of that name (`PATCH …/work-items/{id}/ {"state": uuid}`). */
  async setStateByName(projectId: string, issueId: string, name: string): Promise<PlaneIssue> {
    const state = await this.stateByName(projectId, name);
    return this.#request<PlaneIssue>('PATCH', this.#project(projectId, `work-items/${enc(issueId)}/`), { body: { state: state.id } });
  }

  /** A work item's relations (`GET …/work-items/{id}/relations/`): ids by relation type, not paginated. */
  relations(projectId: string, issueId: string): Promise<PlaneRelations> {
    return this.#request<PlaneRelations>('GET', this.#project(projectId, `work-items/${enc(issueId)}/relations/`));
  }

  /** A work item's comments, oldest first, page by page (`GET …/comments/`). */
  async listComments(projectId: string, issueId: string): Promise<PlaneComment[]> {
    const out: PlaneComment[] = [];
    for await (const c of this.#paginate<PlaneComment>(this.#project(projectId, `work-items/${enc(issueId)}/comments/`))) out.push(c);
    return out;
  }

  /**
   * Adds a comment (`comment_html` is rendered by Plane as given: escape text first).
   * With `external`, Plane refuses a second comment with the same id and source in
   * the project (409), which makes a repeated post harmless.
   */
  addComment(projectId: string, issueId: string, html: string, external?: { id: string; source: string }): Promise<{ id: string }> {
    const body = { comment_html: html, ...(external ? { external_id: external.id, external_source: external.source } : {}) };
    return this.#request<{ id: string }>('POST', this.#project(projectId, `work-items/${enc(issueId)}/comments/`), { body });
  }

  #project(projectId: string, rest: string): string {
    return `/api/v1/workspaces/${enc(this.#o.workspaceSlug)}/projects/${enc(projectId)}/${rest}`;
  }

  async *#paginate<T>(path: string, perPage = PLANE_MAX_PER_PAGE): AsyncGenerator<T> {
    const size = Math.max(1, Math.min(Math.trunc(perPage), PLANE_MAX_PER_PAGE));
    let cursor: string | undefined;
    const seen = new Set<string>();
    for (let n = 0; n < MAX_PAGES; n++) {
      const page = await this.#request<Page<T>>('GET', path, { query: { per_page: size, cursor } });
      if (!Array.isArray(page?.results)) throw new PlaneApiError('PLANE_BAD_RESPONSE', `Plane GET ${path} returned no "results" array; is ${this.#o.baseUrl} a Plane server?`);
      yield* page.results;
      if (!page.next_page_results || !page.next_cursor) return;
      // The same cursor twice would loop for ever.
      if (seen.has(page.next_cursor)) throw new PlaneApiError('PLANE_BAD_RESPONSE', `Plane GET ${path} returned cursor "${page.next_cursor}" twice`);
      seen.add(page.next_cursor);
      cursor = page.next_cursor;
    }
    throw new PlaneApiError('PLANE_BAD_RESPONSE', `Plane GET ${path} still had more after ${MAX_PAGES} pages`);
  }

  async #request<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    const url = new URL(this.#o.baseUrl + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const what = `Plane ${method} ${path}`;
    for (let attempt = 0; ; attempt++) {
      await this.#gate.beforeRequest();
      let res: Response;
      try {
        res = await this.#fetch(url, {
          method,
          headers: { 'X-API-Key': this.#o.apiKey, Accept: 'application/json', ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
          signal: AbortSignal.timeout(this.#o.requestTimeoutMs),
        });
      } catch (err) {
        const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${this.#o.requestTimeoutMs} ms` : (err as Error).message;
        throw new PlaneApiError('PLANE_NETWORK_ERROR', `${what} failed: ${reason} (is plugins.tracker-plane.baseUrl ${this.#o.baseUrl} reachable?)`, { cause: err });
      }
      this.#gate.observe(res.headers);
      const text = await res.text();
      if (res.status === 429 && attempt < this.#o.maxRetries) {
        this.#gate.retryDelay(res.headers);
        continue;
      }
      if (!res.ok) throw httpError(what, res.status, text);
      if (text === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new PlaneApiError('PLANE_BAD_RESPONSE', `${what} answered ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`, { status: res.status });
      }
    }
  }
}

const enc = encodeURIComponent;

/** Plane's message from an error body: `{"error"}` (its views), `{"detail"}` (DRF), or field errors. */
export function planeMessageOf(text: string): string | null {
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === 'object') {
      const o = body as Record<string, unknown>;
      for (const k of ['error', 'detail', 'message']) if (typeof o[k] === 'string') return o[k] as string;
      return JSON.stringify(body).slice(0, 300);
    }
  } catch {
    // Not JSON (a proxy's HTML page): the text itself, short.
  }
  return text.trim() ? text.trim().slice(0, 300) : null;
}

const HINTS: Record<number, string> = {
  401: ' (check plugins.tracker-plane.apiKey)',
  403: ' (check plugins.tracker-plane.apiKey and that its user is a member of the project)',
  404: ' (check plugins.tracker-plane.workspaceSlug and the project and issue ids)',
};

function httpError(what: string, status: number, text: string): PlaneApiError {
  const planeMessage = planeMessageOf(text);
  const code = status === 429 ? 'PLANE_RATE_LIMITED' : 'PLANE_HTTP_ERROR';
  return new PlaneApiError(code, `${what} answered ${status}: ${planeMessage ?? 'no message'}${HINTS[status] ?? ''}`, { status, planeMessage });
}
