import type { FastifyInstance } from 'fastify';
import type { Conveyor } from '@conveyor/core';
import { accessOptions, type RouteGuards } from '../route-access.js';

/** `GET /queue`: the instance's snapshot — job counts, running jobs, one block per enabled plugin. */
export function registerQueueRoute(app: FastifyInstance, conveyor: Conveyor, guards: RouteGuards): void {
  app.get('/queue', accessOptions('read', guards), () => conveyor.snapshot());
}
