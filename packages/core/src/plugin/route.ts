import type { TSchema } from '@sinclair/typebox';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteRequest {
  /** Path parameters, typed by the route's params schema (an integer id arrives as a number). */
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  /**
   * Parsed and schema-checked JSON body. Undefined on raw-body routes (webhooks):
   * verify the signature over `rawBody`, then parse it.
   */
  body: unknown;
  /** The exact bytes received, for webhook signatures (routes with `rawBody: true`). */
  rawBody?: Buffer;
  /**
   * True when this host serves reads without the token (`host.readAuth: none`). A
   * `public` route answers with the instance's data only when it is true; otherwise
   * it sends what carries none (a page shell that asks for the token).
   */
  readsOpen?: boolean;
}

/** What a webhook route's verifier says about one delivery. */
export type WebhookVerdict = { ok: true } | { ok: false; message: string };

/** What a webhook verifier reads: the headers and the exact bytes received. */
export interface WebhookVerifyRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

export interface RouteResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A framework-neutral HTTP route a plugin contributes. The host mounts it (on
 * fastify), enforcing `auth` and the schemas before the handler runs.
 */
export interface RouteDescriptor {
  method: HttpMethod;
  /** Path with `:params`, e.g. `/serial-gate/unfreeze`, `/webhooks/plane`. */
  url: string;
  /**
   * `token`: the bearer token from config (every mutating API route);
   * `webhook`: the sender's signature, checked by `verify` before the handler runs;
   * `none`: a `GET` route (a read, guarded by `host.readAuth`);
   * `public`: a `GET` route open to anyone, for what carries nothing of the instance
   * (static assets, a page shell): it may show data only when `request.readsOpen`.
   * A route that changes state (any method but `GET`) with `none` or `public`, or a
   * `webhook` route without `verify`, is refused when the plugin registers it.
   */
  auth: 'none' | 'public' | 'token' | 'webhook';
  /**
   * Required with `auth: 'webhook'`: checks the sender's signature over the exact
   * bytes (HMAC, timing-safe). The host calls it before the handler and answers 401
   * with `message` when it fails, so the handler never sees an unsigned delivery.
   */
  verify?(request: WebhookVerifyRequest): WebhookVerdict | Promise<WebhookVerdict>;
  rawBody?: boolean;
  /** Explicit body size limit in bytes (the host's default otherwise). */
  bodyLimit?: number;
  schema?: { body?: TSchema; params?: TSchema; querystring?: TSchema };
  /** One line for docs and `GET /status`. */
  description?: string;
  handler(request: RouteRequest): Promise<RouteResponse>;
}

/** A route as the instance lists it: with its owner. */
export type OwnedRoute = RouteDescriptor & { readonly plugin: string };
