/**
 * @conveyor/plugin-lessons — a machine-readable journal of what went wrong: gate
 * failures that rolled a task back, merges held by a busy lease, exhausted retries,
 * degraded deploys (recorded automatically), and lessons people add.
 */
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, type Clock, type Database } from '@conveyor/core';
import { installDetectors } from './detectors.js';
import { LessonStore } from './lesson-store.js';
import { lessonsMigrations } from './migrations.js';
import { lessonsRoutes } from './routes.js';

export * from './lesson-store.js';
export * from './slugs.js';
export { lessonsMigrations } from './migrations.js';

/** Config section `plugins.lessons` (besides `enabled` and `repos`). */
export const lessonsConfigSchema = Type.Object({
  dedupeWindowMs: Type.Integer({ minimum: 0, default: 3_600_000, description: 'An automatic lesson with the same slug for the same task is recorded once within this window (ms).' }),
  defaultLimit: Type.Integer({ minimum: 1, maximum: 1000, default: 50, description: 'Lessons `GET /lessons` returns without `limit`.' }),
});

/** The `lessons` plugin: an observer; it records for every repo (`repos` is not used) and readers filter. */
export const lessonsPlugin = definePlugin({
  name: 'lessons',
  configSchema: lessonsConfigSchema,
  migrations: lessonsMigrations,
  // Answered with `{"enabled": false}` when the plugin is off, so a dashboard can tell "off" from "missing".
  offRoutes: ['/lessons'],
  register(ctx) {
    const db = ctx.container.resolve<Database>(CoreTokens.Database);
    const store = new LessonStore(db.knex, ctx.container.resolve<Clock>(CoreTokens.Clock), ctx.logger);
    installDetectors(ctx.on, { store, tasks: ctx.stores.tasks, agentRuns: ctx.stores.agentRuns, windowMs: ctx.config.dedupeWindowMs });
    for (const route of lessonsRoutes(store, { limit: ctx.config.defaultLimit, maxLimit: 1000 })) ctx.addRoute(route);
    ctx.snapshot(async () => ({ open: (await store.list({ status: 'open', limit: 1000 })).length }));
  },
});
