import type { FastifyInstance } from 'fastify';
import { summarizeCosts, type Conveyor } from '@conveyor/core';
import { sendError } from '../http-errors.js';
import { accessOptions, type RouteGuards } from '../route-access.js';
import { TaskIdParams, TaskListQuery } from '../schemas.js';

/**
 * The task routes: list, inspect (jobs, runs, costs, what it waits for) and stop.
 * Reads go straight to the stores; stop goes through intake, like the tracker's
 * STOP status, so both land on the same compare-and-set.
 */
export function registerTaskRoutes(app: FastifyInstance, conveyor: Conveyor, guards: RouteGuards): void {
  app.get<{ Querystring: TaskListQuery }>('/tasks', { schema: { querystring: TaskListQuery }, ...accessOptions('read', guards) }, async (request) => {
    const { repo, stage, live, limit } = request.query;
    const tasks = await conveyor.store.tasks.list({ limit, ...(repo ? { repo } : {}), ...(stage ? { stage } : {}), ...(live ? { live } : {}) });
    return { tasks };
  });

  app.get<{ Params: TaskIdParams }>('/tasks/:id', { schema: { params: TaskIdParams }, ...accessOptions('read', guards) }, async (request, reply) => {
    const { id } = request.params;
    const task = await conveyor.store.tasks.get(id);
    if (!task) return sendError(reply, 404, `task ${id} does not exist`);
    // Stored state only: no git fetch, no forge or tracker call per request.
    const [jobs, agentRuns, transitions, waitingFor] = await Promise.all([
      conveyor.store.jobs.listForTask(id),
      conveyor.store.agentRuns.listForTask(id),
      conveyor.store.tasks.transitions(id),
      conveyor.waiting.forTask(task),
    ]);
    return { task, jobs, agentRuns, transitions, costs: summarizeCosts(agentRuns), waitingFor };
  });

  app.post<{ Params: TaskIdParams }>('/tasks/:id/stop', { schema: { params: TaskIdParams }, ...accessOptions('token', guards) }, async (request, reply) => {
    // An unknown task makes intake throw CONVEYOR_TASK_NOT_FOUND, which the error handler answers with 404.
    const result = await conveyor.intake.requestStop(request.params.id);
    request.log.info({ taskId: request.params.id, ...result }, 'stop requested over HTTP');
    return reply.code(202).send(result);
  });
}
