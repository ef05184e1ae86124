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
   * `webhook`: the handler verifies a signature over `rawBody` itself;
   * `none`: read-only routes.
   */
  auth: 'none' | 'token' | 'webhook';
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
