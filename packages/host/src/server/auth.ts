import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { sendError } from './http-errors.js';

/** Shortest bearer token the host accepts (the same floor as `host.token` in the config schema). */
export const MIN_TOKEN_LENGTH = 16;

/** Throws unless `token` is usable: no mutating route may ever be open without one. */
export function assertUsableToken(token: unknown): asserts token is string {
  if (typeof token !== 'string' || token.trim().length < MIN_TOKEN_LENGTH) {
    throw new TypeError(`the API token must be a string of at least ${MIN_TOKEN_LENGTH} characters: set host.token (CONVEYOR_HOST_TOKEN) or use ensureLocalToken(dataDir)`);
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * A timing-safe comparison of a presented token with the expected one. Both are
 * hashed first, so `timingSafeEqual` always compares 32 equal-length bytes: a
 * wrong token of another length is rejected in the same time as any other, and
 * no prefix of the real token can be found by measuring responses.
 */
export function createTokenMatcher(expected: string): (presented: string) => boolean {
  const want = digest(expected);
  return (presented) => timingSafeEqual(digest(presented), want);
}

/** `Bearer <token>` (scheme case-insensitive, RFC 7235), or null. */
export function bearerToken(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value ?? '');
  return m?.[1] ?? null;
}

/**
 * An `onRequest` hook: runs before the body is read or validated, so a caller
 * without the token learns nothing about the route's schema and costs no parsing.
 * Missing → 401 "missing bearer token"; wrong → 401 "invalid bearer token".
 */
export function bearerAuth(token: string): onRequestAsyncHookHandler {
  assertUsableToken(token);
  const matches = createTokenMatcher(token);
  return async function checkBearer(request: FastifyRequest, reply: FastifyReply) {
    const presented = bearerToken(request.headers.authorization);
    if (presented !== null && matches(presented)) return;
    reply.header('www-authenticate', 'Bearer realm="conveyor"');
    request.log.info({ route: request.routeOptions.url, presented: presented !== null }, 'bearer token refused');
    // Returning the reply tells fastify the hook answered: the route never runs.
    return sendError(reply, 401, presented === null ? 'missing bearer token' : 'invalid bearer token');
  };
}
