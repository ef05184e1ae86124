import { Type } from '@sinclair/typebox';
import type { RouteDescriptor } from '@conveyor/core';
import { LESSON_STATUSES, type LessonStatus, type LessonStore } from './lesson-store.js';
import { LessonKinds } from './slugs.js';

const Status = Type.Union(LESSON_STATUSES.map((s) => Type.Literal(s)));
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

/** `GET /lessons`, `POST /lessons`, `POST /lessons/:id`. Writes need the bearer token. */
export function lessonsRoutes(store: LessonStore, defaults: { limit: number; maxLimit: number }): RouteDescriptor[] {
  return [
    {
      method: 'GET',
      url: '/lessons',
      auth: 'none',
      description: 'Lessons, newest first; filters: repo, kind, status, limit.',
      schema: {
        querystring: Type.Object({
          repo: Type.Optional(Type.String({ minLength: 1 })),
          kind: Type.Optional(Type.String({ minLength: 1 })),
          status: Type.Optional(Status),
          limit: Type.Integer({ minimum: 1, maximum: defaults.maxLimit, default: defaults.limit }),
        }),
      },
      async handler(req) {
        const q = req.query as { repo?: string; kind?: string; status?: LessonStatus; limit: number };
        const lessons = await store.list({ limit: q.limit, ...(q.repo ? { repo: q.repo } : {}), ...(q.kind ? { kind: q.kind } : {}), ...(q.status ? { status: q.status } : {}) });
        return { status: 200, body: { enabled: true, lessons } };
      },
    },
    {
      method: 'POST',
      url: '/lessons',
      auth: 'token',
      description: 'Record a lesson by hand (source "manual").',
      schema: {
        body: Type.Object(
          {
            title: Type.String({ minLength: 1, maxLength: 500 }),
            body: Type.Optional(Type.String({ maxLength: 50_000 })),
            slug: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-z0-9_:./-]+$' })),
            kind: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            repo: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            taskId: Type.Optional(Type.Integer({ minimum: 1 })),
            stage: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
      },
      async handler(req) {
        const b = req.body as { title: string; body?: string; slug?: string; kind?: string; repo?: string; taskId?: number; stage?: string };
        const kind = b.kind ?? LessonKinds.Manual;
        const lesson = await store.record({
          slug: b.slug ?? `${kind}:${b.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80) || 'lesson'}`,
          title: b.title,
          body: b.body ?? '',
          source: 'manual',
          kind,
          repo: b.repo ?? null,
          taskId: b.taskId ?? null,
          stage: b.stage ?? null,
        });
        if (!lesson) return { status: 503, body: { error: 'service_unavailable', message: 'the lesson could not be written; see the host log' } };
        return { status: 201, body: { lesson } };
      },
    },
    {
      method: 'POST',
      url: '/lessons/:id',
      auth: 'token',
      description: 'Update a lesson: status (open, resolved, dismissed), title or body.',
      schema: {
        params: IdParams,
        body: Type.Object(
          { status: Type.Optional(Status), title: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })), body: Type.Optional(Type.String({ maxLength: 50_000 })) },
          { additionalProperties: false, minProperties: 1 },
        ),
      },
      async handler(req) {
        const id = Number(req.params.id);
        const lesson = await store.update(id, req.body as { status?: LessonStatus; title?: string; body?: string });
        if (!lesson) return { status: 404, body: { error: 'not_found', message: `lesson ${id} does not exist` } };
        return { status: 200, body: { lesson } };
      },
    },
  ];
}
