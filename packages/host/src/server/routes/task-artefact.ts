import type { FastifyInstance } from 'fastify';
import { CoreTokens, type ArtifactReader, type Conveyor } from '@conveyor/core';
import { sendError } from '../http-errors.js';
import { accessOptions, type RouteGuards } from '../route-access.js';
import { TaskStageParams } from '../schemas.js';

/**
 * `GET /tasks/:id/artefacts/:stage`: a stage's artefact as pushed on the task branch
 * (`{ path, frontMatter, body }`), so a person asked to approve can read the analysis
 * from the CLI without a checkout of the branch.
 */
export function registerTaskArtefactRoute(app: FastifyInstance, conveyor: Conveyor, guards: RouteGuards): void {
  app.get<{ Params: TaskStageParams }>('/tasks/:id/artefacts/:stage', { schema: { params: TaskStageParams }, ...accessOptions('read', guards) }, async (request, reply) => {
    const { id, stage } = request.params;
    const task = await conveyor.store.tasks.get(id);
    if (!task) return sendError(reply, 404, `task ${id} does not exist`);
    if (!conveyor.pipeline.stages.some((s) => s.name === stage)) return sendError(reply, 404, `stage "${stage}" is not in the pipeline (${conveyor.pipeline.stages.map((s) => s.name).join(', ')})`);
    const reader = conveyor.container.isRegistered(CoreTokens.ArtifactReader, true) ? conveyor.container.resolve<ArtifactReader>(CoreTokens.ArtifactReader) : null;
    const artefact = reader ? await reader.read(task, stage) : null;
    if (!artefact) return sendError(reply, 404, `task ${id} has no ${stage} artefact on branch ${task.branch} yet`);
    return { taskId: id, stage, ...artefact };
  });
}
