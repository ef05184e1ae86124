/**
 * @conveyor/plugin-tracker-plane — Plane (self-hosted) as Conveyor's tracker:
 * signed v1 webhooks recorded and handed to intake, state changes and comments
 * written through Plane's REST API, issues listed by state for the reconciler.
 */
import { CoreTokens, definePlugin, type Intake } from '@conveyor/core';
import { planeSettings, trackerPlaneConfigSchema } from './config.js';
import { planeDeliveryHandler } from './delivery-handler.js';
import { PlaneClient } from './plane-client.js';
import { PlaneTracker } from './plane-tracker.js';
import { StatusNameMap } from './status-map.js';
import { TrackerPlaneTokens } from './tokens.js';
import { PLANE_SOURCE, PLANE_WEBHOOK_PATH, planeWebhookRoute, type PlaneWebhookStats } from './webhook-route.js';

export { TrackerPlaneTokens } from './tokens.js';
export * from './config.js';
export * from './errors.js';
export * from './html.js';
export * from './signature.js';
export * from './webhook-payload.js';
export * from './rate-limit.js';
export * from './plane-client.js';
export * from './status-map.js';
export * from './plane-tracker.js';
export * from './webhook-route.js';
export * from './delivery-handler.js';

/** Binds the Plane tracker, mounts `POST /webhooks/plane` and processes its deliveries. */
export const trackerPlanePlugin = definePlugin({
  name: 'tracker-plane',
  // Needs a URL, credentials or an installed CLI: opt-in, never started by surprise.
  enabledByDefault: false,
  configSchema: trackerPlaneConfigSchema,
  register(ctx) {
    const s = planeSettings(ctx.config);
    const client = new PlaneClient({ baseUrl: s.baseUrl, apiKey: s.apiKey, workspaceSlug: s.workspaceSlug, requestTimeoutMs: s.requestTimeoutMs });
    const statusNames = new StatusNameMap(s.statusNames, Object.values(ctx.instanceConfig.statuses));
    const tracker = new PlaneTracker({ client, projects: s.projects, statusNames });
    ctx.provide(CoreTokens.Tracker, tracker);
    ctx.provide(TrackerPlaneTokens.Tracker, tracker);
    ctx.provide(TrackerPlaneTokens.Client, client);

    const projects = Object.entries(s.projects);
    // Not an error: a repo may be configured later, and the pipeline reports a missing repo on its own.
    for (const [projectId, p] of projects) {
      if (!ctx.instanceConfig.repos[p.repo]) ctx.logger.warn({ projectId, repo: p.repo }, 'Plane project maps to a repo that is not under repos');
    }
    if (projects.length === 0) ctx.logger.warn({}, 'plugins.tracker-plane.projects is empty: every Plane delivery will be ignored');
    if (s.botUserId === null) ctx.logger.warn({}, "plugins.tracker-plane.botUserId is unset: Conveyor's own changes in Plane come back as intake events");

    const repoOf = (projectId: string) => tracker.project(projectId)?.repo ?? null;
    ctx.webhooks.onDelivery(
      PLANE_SOURCE,
      planeDeliveryHandler({
        intake: () => ctx.container.resolve<Intake>(CoreTokens.Intake),
        client,
        statusNames,
        repoOf,
        inScope: (repo) => ctx.inScope(repo),
        botUserId: s.botUserId,
        logger: ctx.logger,
        rejectedStatus: ctx.instanceConfig.statuses.rejected,
      }),
    );
    const stats: PlaneWebhookStats = { accepted: 0, duplicates: 0, ignored: 0, rejected: 0 };
    ctx.addRoute(
      planeWebhookRoute(
        { webhookSecret: s.webhookSecret, botUserId: s.botUserId, repoOf, inScope: (repo) => ctx.inScope(repo), inbox: ctx.webhooks, logger: ctx.logger },
        stats,
      ),
    );
    ctx.snapshot(async () => ({ baseUrl: s.baseUrl, workspace: s.workspaceSlug, projects: Object.fromEntries(projects.map(([id, p]) => [id, p.repo])), webhook: { path: PLANE_WEBHOOK_PATH, ...stats } }));
  },
});
