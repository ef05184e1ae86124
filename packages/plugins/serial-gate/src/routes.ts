import { Type } from '@sinclair/typebox';
import type { RouteDescriptor } from '@conveyor/core';
import type { FreezeStore } from './freeze-store.js';

/** `POST /serial-gate/unfreeze {repo}`: a person lifts a repo's freeze. */
export function unfreezeRoute(d: { freezes: FreezeStore; onUnfrozen(repo: string): void }): RouteDescriptor {
  return {
    method: 'POST',
    url: '/serial-gate/unfreeze',
    auth: 'token',
    description: "Lift a repository's serial-gate freeze (set after a degraded deploy).",
    schema: { body: Type.Object({ repo: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }) },
    async handler(req) {
      const { repo } = req.body as { repo: string };
      const lifted = await d.freezes.unfreeze(repo);
      if (!lifted) return { status: 404, body: { error: 'not_found', message: `repository "${repo}" is not frozen` } };
      d.onUnfrozen(repo);
      return { status: 200, body: { repo, unfrozen: true, freeze: { ...lifted, frozenAt: lifted.frozenAt.toISOString() } } };
    },
  };
}
