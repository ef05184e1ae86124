import { GiteaApiError, giteaMessageOf, statusText, type GiteaErrorCode } from './gitea-errors.js';

/** How the client reaches Gitea. */
export interface GiteaHttpOptions {
  /** Server base, e.g. `https://gitea.example.com` (a trailing `/` is ignored). */
  baseUrl: string;
  token: string;
  /** Injected so tests and hosts choose the transport; the global `fetch` by default. */
  fetch?: typeof fetch;
  /** Longest wait for one call. @default 30000 */
  timeoutMs?: number;
}

/** A 2xx answer, or one of the statuses the caller said it handles itself. */
export interface GiteaAnswer {
  status: number;
  json: unknown;
  text: string;
  headers: Headers;
}

const CODES: Readonly<Record<number, GiteaErrorCode>> = {
  401: 'FORGE_GITEA_UNAUTHORIZED',
  403: 'FORGE_GITEA_FORBIDDEN',
  404: 'FORGE_GITEA_NOT_FOUND',
  422: 'FORGE_GITEA_INVALID_REQUEST',
};

/** Encodes one path segment (`owner`, `repo`, a sha). */
export const seg = (s: string | number): string => encodeURIComponent(String(s));

/** Encodes a branch for Gitea's `/*` routes: its slashes stay path separators. */
export const branchPath = (branch: string): string => branch.split('/').map(seg).join('/');

/**
 * The transport under `GiteaClient`: `/api/v1` calls with `Authorization: token <t>`,
 * a timeout per call, JSON both ways, and every failure turned into a
 * `GiteaApiError` carrying the status and Gitea's own message.
 */
export class GiteaHttp {
  readonly #base: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: GiteaHttpOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  get baseUrl(): string {
    return this.#base;
  }

  /**
   * One call. Statuses in `handled` are returned to the caller instead of thrown
   * (a 404 that means "no such branch", a 409 that means "reuse the open PR").
   */
  async call(method: string, path: string, options: { body?: unknown; handled?: readonly number[] } = {}): Promise<GiteaAnswer> {
    const url = `${this.#base}/api/v1${path}`;
    const headers: Record<string, string> = { Authorization: `token ${this.#token}`, Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const timedOut = (err as Error)?.name === 'TimeoutError';
      const why = timedOut ? `no answer within ${this.#timeoutMs} ms (plugins.forge-gitea.requestTimeoutMs)` : (err as Error)?.message ?? String(err);
      throw new GiteaApiError('FORGE_GITEA_UNREACHABLE', `Gitea call ${method} ${path} failed: ${why}; check plugins.forge-gitea.baseUrl (${this.#base}) and that Gitea is up`, { status: 0, cause: err });
    }
    let json: unknown = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        // Proxies answer HTML error pages; the text still goes into the message.
      }
    }
    if (res.ok || options.handled?.includes(res.status)) return { status: res.status, json, text, headers: res.headers };
    throw this.error(method, path, res.status, giteaMessageOf(json, text));
  }

  /** The error of an unexpected status, with a hint where one helps. */
  error(method: string, path: string, status: number, giteaMessage: string | null, code?: GiteaErrorCode): GiteaApiError {
    const hint = status === 401 ? '; check plugins.forge-gitea.token (CONVEYOR_PLUGINS_FORGE_GITEA_TOKEN): it must be a valid access token of Conveyor\'s Gitea user' : '';
    return new GiteaApiError(code ?? CODES[status] ?? 'FORGE_GITEA_HTTP', `Gitea answered ${statusText(status, giteaMessage)} to ${method} ${path}${hint}`, { status, giteaMessage });
  }
}
