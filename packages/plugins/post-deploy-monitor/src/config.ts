import { Type, type Static } from '@sinclair/typebox';
import { ConveyorError } from '@conveyor/core';

export const HealthCheckSchema = Type.Object(
  {
    url: Type.Optional(Type.String({ pattern: '^https?://', description: 'GET this URL; a 2xx answer within `checkTimeoutMs` is healthy.' })),
    command: Type.Optional(Type.String({ minLength: 1, description: 'Run this command line (`/bin/sh -c`, in the config file\'s directory); exit 0 within `checkTimeoutMs` is healthy.' })),
  },
  { additionalProperties: false },
);

export const postDeployMonitorConfigSchema = Type.Object({
  checks: Type.Record(Type.String(), HealthCheckSchema, {
    default: {},
    description: 'The health check of each repository, by repo name: `{ url }` or `{ command }` (exactly one). A repository without one gets no post-deploy window: its task goes straight to Done.',
  }),
  windowMs: Type.Integer({ minimum: 1, default: 1_800_000, description: 'How long a task is watched after its deploy; at the end the tracker goes to Done.' }),
  intervalMs: Type.Integer({ minimum: 10, default: 60_000, description: 'Time between two health checks of one window (and between two looks at the windows).' }),
  failuresToDegrade: Type.Integer({ minimum: 1, default: 3, description: 'Consecutive failed checks that make the deploy degraded (`deploy.degraded`: serial-gate freezes the repo, people are alerted).' }),
  checkTimeoutMs: Type.Integer({ minimum: 1, default: 10_000, description: 'Time limit of one health check; slower is a failure (a command\'s whole process group is killed).' }),
  passEnv: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'Host environment variables a health command may see besides the safe set (PATH, HOME …); names, or prefixes ending in `*`.',
  }),
});

export type PostDeployMonitorConfig = Static<typeof postDeployMonitorConfigSchema>;
export type HealthCheck = Static<typeof HealthCheckSchema>;

/** Every check names exactly one of `url` or `command`; all problems at once. */
export function validateChecks(checks: Record<string, HealthCheck>): void {
  const problems = Object.entries(checks)
    .filter(([, c]) => (c.url === undefined) === (c.command === undefined))
    .map(([repo, c]) => `plugins.post-deploy-monitor.checks.${repo}: give exactly one of "url" or "command" (found ${c.url === undefined ? 'neither' : 'both'})`);
  if (problems.length) throw new ConveyorError('CONVEYOR_CONFIG_INVALID', problems.join('; '));
}
