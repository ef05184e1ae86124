import type { FastifyInstance } from 'fastify';
import type { Conveyor } from '@conveyor/core';

/** `GET /queue`: the instance's snapshot — job counts, running jobs, one block per enabled plugin. */
export function registerQueueRoute(app: FastifyInstance, conveyor: Conveyor): void {
  app.get('/queue', () => conveyor.snapshot());
}
