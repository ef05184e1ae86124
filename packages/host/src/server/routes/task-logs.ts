import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Conveyor } from '@conveyor/core';
import { sendError } from '../http-errors.js';
import { TaskIdParams } from '../schemas.js';
import { accessOptions, type RouteGuards } from '../route-access.js';

/** The tail of each log that is sent: agent logs can be large, and the end says how a run ended. */
export const LOG_TAIL_BYTES = 256 * 1024;

const LogQuery = Type.Object({ stage: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]*$', maxLength: 64, description: 'Only this stage.' })) });
type LogQuery = Static<typeof LogQuery>;

function tail(file: string): { text: string | null; truncated: boolean; missing: boolean } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return { text: null, truncated: false, missing: true };
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, size - length);
    return { text: buf.toString('utf8'), truncated: size > length, missing: false };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `GET /tasks/:id/logs[?stage=]`: each agent run's log as the runner wrote it (the last
 * 256 KiB), oldest run first. Bearer token: an agent's output can carry what it read.
 */
export function registerTaskLogsRoute(app: FastifyInstance, conveyor: Conveyor, guards: RouteGuards): void {
  app.get<{ Params: TaskIdParams; Querystring: LogQuery }>('/tasks/:id/logs', { schema: { params: TaskIdParams, querystring: LogQuery }, ...accessOptions('token', guards) }, async (request, reply) => {
    const { id } = request.params;
    const task = await conveyor.store.tasks.get(id);
    if (!task) return sendError(reply, 404, `task ${id} does not exist`);
    const runs = (await conveyor.store.agentRuns.listForTask(id)).filter((r) => !request.query.stage || r.stage === request.query.stage);
    return {
      taskId: id,
      runs: runs.map((r) => ({ runId: r.id, stage: r.stage, role: r.role, attempt: r.attempt, exitCode: r.exitCode, logPath: r.logPath, ...(r.logPath ? tail(r.logPath) : { text: null, truncated: false, missing: true }) })),
    };
  });
}
