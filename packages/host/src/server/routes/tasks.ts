import type { FastifyInstance } from 'fastify';
import { budgetStatus, summarizeCosts, type Conveyor } from '@conveyor/core';
import { sendError } from '../http-errors.js';
import { accessOptions, type RouteGuards } from '../route-access.js';
import { BudgetBody, RetryBody, TaskIdParams, TaskListQuery } from '../schemas.js';

/**
 * The task routes: list, inspect (jobs, runs, costs, budget, what it waits for), stop,
 * confirm a deploy, retry a stopped task, and raise a budget.
 * Reads go straight to the stores; stop and confirm-deploy go through intake, like
 * the tracker's STOP and Confirm Deploy statuses, so both land on the same compare-and-set.
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
    const budget = budgetStatus(conveyor.config.budgets, task, agentRuns, task.stage);
    return { task, jobs, agentRuns, transitions, costs: summarizeCosts(agentRuns), budget, waitingFor };
  });

  // Raises the task's (or one stage's) budget; a task stopped by its budget resumes.
  app.post<{ Params: TaskIdParams; Body: BudgetBody }>('/tasks/:id/budget', { schema: { params: TaskIdParams, body: BudgetBody }, ...accessOptions('token', guards) }, async (request) => {
    const { task, budget, resumed, job } = await conveyor.budgets.raise(request.params.id, request.body);
    request.log.info({ taskId: task.id, usd: request.body.usd, stage: request.body.stage ?? null, resumed }, 'budget set over HTTP');
    return { task, budget, resumed, jobId: job?.id ?? null };
  });

  // Resumes a blocked task (or one a failed gate left without a job): one job queued.
  app.post<{ Params: TaskIdParams; Body: RetryBody }>('/tasks/:id/retry', { schema: { params: TaskIdParams, body: RetryBody }, ...accessOptions('token', guards) }, async (request, reply) => {
    const res = await conveyor.retry.retry(request.params.id, { ...(request.body?.from ? { from: request.body.from } : {}), ...(request.body?.reason ? { reason: request.body.reason } : {}) });
    request.log.info({ taskId: res.task.id, from: res.from, to: res.to, jobId: res.job.id }, 'task retried over HTTP');
    return reply.code(202).send({ task: res.task, jobId: res.job.id, from: res.from, to: res.to, stoppedBecause: res.stoppedBecause });
  });

  app.post<{ Params: TaskIdParams }>('/tasks/:id/stop', { schema: { params: TaskIdParams }, ...accessOptions('token', guards) }, async (request, reply) => {
    // An unknown task makes intake throw CONVEYOR_TASK_NOT_FOUND (404); without the
    // cancel plugin, CONVEYOR_PLUGIN_DISABLED (409) saying which plugin to enable.
    const result = await conveyor.intake.requestStop(request.params.id);
    request.log.info({ taskId: request.params.id, ...result }, 'stop requested over HTTP');
    return reply.code(202).send(result);
  });

  app.post<{ Params: TaskIdParams }>('/tasks/:id/confirm-deploy', { schema: { params: TaskIdParams }, ...accessOptions('token', guards) }, async (request, reply) => {
    const result = await conveyor.intake.confirmDeploy(request.params.id);
    request.log.info({ taskId: request.params.id, ...result }, 'deploy confirmation over HTTP');
    // Nothing to confirm (not at deploy, or the repo does not ask): a clear 409, nothing changed.
    if (!result.confirmed) return sendError(reply, 409, result.detail);
    return reply.code(200).send(result);
  });
}
