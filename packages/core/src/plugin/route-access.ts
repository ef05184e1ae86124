import { ConveyorError } from '../errors.js';
import type { RouteDescriptor } from './route.js';

/**
 * How the host guards a plugin route: `read` (a `GET`, open or token-guarded by
 * `host.readAuth`), `public` (a `GET` open to anyone, whatever `host.readAuth`),
 * `token` (the bearer token, always) or `webhook` (the route's own signature
 * verifier, run by the host before the handler).
 */
export type RouteAccess = 'public' | 'read' | 'token' | 'webhook';

/** The only method a route may serve without the token or a verifier: reads change nothing. */
export const READ_METHOD = 'GET';

/**
 * The access a route gets, or a `CONVEYOR_ROUTE_ACCESS` error saying what to
 * declare. Checked when a plugin adds the route and again when the host mounts it:
 * a plugin that forgets to guard a `POST` must fail the start, not serve an open
 * route to anyone who can reach the port (an agent on the same machine included).
 */
export function routeAccess(route: Pick<RouteDescriptor, 'method' | 'url' | 'auth' | 'verify'>): RouteAccess {
  const where = `route ${route.method} ${route.url}`;
  switch (route.auth) {
    case 'token':
      return 'token';
    case 'webhook':
      if (typeof route.verify !== 'function') {
        throw new ConveyorError('CONVEYOR_ROUTE_ACCESS', `${where} has auth "webhook" but no verify function: declare verify(request) that checks the sender's signature over request.rawBody (the host runs it before the handler), or use auth "token"`);
      }
      return 'webhook';
    case 'none':
      if (route.method !== READ_METHOD) {
        throw new ConveyorError('CONVEYOR_ROUTE_ACCESS', `${where} changes state but has auth "none": give it auth "token" (the API's bearer token) or, for a webhook, auth "webhook" with a verify function that checks the sender's signature`);
      }
      return 'read';
    case 'public':
      if (route.method !== READ_METHOD) {
        throw new ConveyorError('CONVEYOR_ROUTE_ACCESS', `${where} changes state but has auth "public": only a GET may be public; give it auth "token" (the API's bearer token)`);
      }
      return 'public';
    default:
      throw new ConveyorError('CONVEYOR_ROUTE_ACCESS', `${where} has auth ${JSON.stringify(route.auth)}: expected "none" or "public" (GET only), "token" or "webhook"`);
  }
}
