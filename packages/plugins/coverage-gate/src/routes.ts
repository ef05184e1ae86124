import { Type } from '@sinclair/typebox';
import type { RouteDescriptor } from '@conveyor/core';
import type { CoverageStore } from './baseline-store.js';

/** `POST /coverage/baseline {repo, value}`: a person sets a repo's baseline (admin; token). */
export function baselineRoute(d: { store: CoverageStore; onSet(repo: string, value: number): void }): RouteDescriptor {
  return {
    method: 'POST',
    url: '/coverage/baseline',
    auth: 'token',
    description: "Set a repository's coverage baseline (an override: it may go down).",
    schema: { body: Type.Object({ repo: Type.String({ minLength: 1, maxLength: 200 }), value: Type.Number({ minimum: 0, maximum: 100 }) }, { additionalProperties: false }) },
    async handler(req) {
      const { repo, value } = req.body as { repo: string; value: number };
      const b = await d.store.override(repo, value);
      d.onSet(repo, value);
      return { status: 200, body: { repo: b.repo, value: b.value, source: b.source, updatedAt: b.updatedAt.toISOString() } };
    },
  };
}
