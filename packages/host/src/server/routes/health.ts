import type { FastifyInstance } from 'fastify';
import type { Conveyor } from '@conveyor/core';
import { accessOptions, type RouteGuards } from '../route-access.js';

/** How long `GET /health` waits for the database before answering 503. */
export const HEALTH_DB_TIMEOUT_MS = 2000;

/**
 * `GET /health`: 200 when a `select 1` answers, 503 otherwise. The probe is
 * bounded, because a health check that hangs on an exhausted pool tells a load
 * balancer nothing. Public whatever `host.readAuth` says: a load balancer or
 * supervisor has no token, and the answer tells nothing about tasks.
 */
export function registerHealthRoute(app: FastifyInstance, conveyor: Conveyor, guards: RouteGuards): void {
  app.get('/health', accessOptions('public', guards), async (request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        conveyor.db.knex.raw('select 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_DB_TIMEOUT_MS} ms`)), HEALTH_DB_TIMEOUT_MS);
        }),
      ]);
      return { status: 'ok', database: 'ok' };
    } catch (err) {
      request.log.warn({ err, dialect: conveyor.db.dialect }, 'health check: database unreachable');
      return reply.code(503).send({ status: 'error', database: 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
  });
}
