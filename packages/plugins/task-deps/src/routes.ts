import { Type } from '@sinclair/typebox';
import type { RouteDescriptor, RouteResponse } from '@conveyor/core';
import type { DepStore, Dependency } from './dep-store.js';
import type { DepsService } from './deps-service.js';
import { TaskDepsError } from './errors.js';

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
const DepParams = Type.Object({ id: Type.Integer({ minimum: 1 }), dep: Type.Integer({ minimum: 1 }) });

const STATUS: Record<TaskDepsError['code'], number> = { TASK_DEPS_INVALID: 400, TASK_DEPS_NOT_FOUND: 404, TASK_DEPS_CYCLE: 409 };

const json = (d: Dependency) => ({ ...d, createdAt: d.createdAt.toISOString() });

async function answer(run: () => Promise<RouteResponse>): Promise<RouteResponse> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof TaskDepsError)) throw err;
    const error = err.code === 'TASK_DEPS_CYCLE' ? 'dependency_cycle' : err.code === 'TASK_DEPS_NOT_FOUND' ? 'not_found' : 'bad_request';
    return { status: STATUS[err.code], body: { error, message: err.message, ...(err.cycle.length ? { cycle: err.cycle } : {}) } };
  }
}

/** `GET|POST /tasks/:id/deps`, `DELETE /tasks/:id/deps/:dep`. */
export function depsRoutes(d: { service: DepsService; deps: DepStore; taskExists(id: number): Promise<boolean> }): RouteDescriptor[] {
  return [
    {
      method: 'GET',
      url: '/tasks/:id/deps',
      auth: 'none',
      description: 'The tasks a task depends on, with their stages.',
      schema: { params: IdParams },
      handler: (req) =>
        answer(async () => {
          const id = Number(req.params.id);
          if (!(await d.taskExists(id))) throw new TaskDepsError('TASK_DEPS_NOT_FOUND', `task ${id} does not exist`);
          return { status: 200, body: { taskId: id, dependencies: (await d.deps.of(id)).map(json) } };
        }),
    },
    {
      method: 'POST',
      url: '/tasks/:id/deps',
      auth: 'token',
      description: 'Declare that a task waits until another task has ended; a cycle is refused with 409.',
      schema: { params: IdParams, body: Type.Object({ dependsOn: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }) },
      handler: (req) =>
        answer(async () => {
          const { dependsOn } = req.body as { dependsOn: number };
          const out = await d.service.declare(Number(req.params.id), dependsOn, 'api');
          return { status: out.added ? 201 : 200, body: { added: out.added, dependency: json(out.dependency) } };
        }),
    },
    {
      method: 'DELETE',
      url: '/tasks/:id/deps/:dep',
      auth: 'token',
      description: 'Remove a declared dependency.',
      schema: { params: DepParams },
      handler: (req) =>
        answer(async () => {
          const id = Number(req.params.id);
          const dep = Number(req.params.dep);
          if (!(await d.service.remove(id, dep))) throw new TaskDepsError('TASK_DEPS_NOT_FOUND', `task ${id} does not depend on task ${dep}`);
          return { status: 200, body: { removed: true, taskId: id, dependsOn: dep } };
        }),
    },
  ];
}
