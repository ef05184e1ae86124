/**
 * @conveyor/plugin-forge-gitea — Gitea (≥ the latest 1.23.x) as Conveyor's forge:
 * pull requests, merges, combined statuses and branch clean-up over the REST API,
 * and the `status`, `pull_request` and `push` webhooks, verified and handed to
 * core's intake through the webhook inbox.
 */
import { ConveyorError, CoreTokens, definePlugin, type Intake } from '@conveyor/core';
import { forgeGiteaConfigSchema } from './config.js';
import { giteaDeliveryHandler } from './delivery-handler.js';
import { GiteaApiError } from './gitea-errors.js';
import { GiteaClient } from './gitea-client.js';
import { GiteaForge } from './gitea-forge.js';
import { RepoMap } from './repo-map.js';
import { ForgeGiteaTokens } from './tokens.js';
import { GITEA_SOURCE, giteaWebhookRoute, type WebhookStats } from './webhook-route.js';

export { ForgeGiteaTokens } from './tokens.js';
export { forgeGiteaConfigSchema, GiteaRepositorySchema, type ForgeGiteaConfig, type GiteaMergeStyle, type GiteaRepoRef } from './config.js';
export { GiteaClient, type GiteaCombinedStatus, type GiteaPullRequest } from './gitea-client.js';
export { GiteaHttp, type GiteaHttpOptions } from './gitea-http.js';
export { GiteaApiError, type GiteaErrorCode } from './gitea-errors.js';
export { GiteaForge, type GiteaForgeOptions } from './gitea-forge.js';
export { RepoMap } from './repo-map.js';
export { giteaSignature, verifyGiteaSignature, headerValue, type HeaderMap, type SignatureVerdict } from './signature.js';
export { GiteaPayloadError } from './payload-reader.js';
export * from './webhook-event.js';
export { giteaWebhookRoute, GITEA_SOURCE, WEBHOOK_BODY_LIMIT, type GiteaDeliveryPayload, type GiteaWebhookRouteOptions, type WebhookStats } from './webhook-route.js';
export { giteaDeliveryHandler } from './delivery-handler.js';

const required = (key: string, what: string) =>
  new ConveyorError('CONVEYOR_CONFIG_INVALID', `plugins.forge-gitea.${key} is not set: ${what} (or disable the plugin with plugins.forge-gitea.enabled: false)`);

/** Binds the Gitea forge and mounts `POST /webhooks/gitea`. */
export const forgeGiteaPlugin = definePlugin({
  name: 'forge-gitea',
  // Needs a URL, credentials or an installed CLI: opt-in, never started by surprise.
  enabledByDefault: false,
  configSchema: forgeGiteaConfigSchema,
  register(ctx) {
    const c = ctx.config;
    if (!c.baseUrl) throw required('baseUrl', 'set it to the Gitea server, e.g. https://gitea.example.com');
    if (!c.token) throw required('token', 'set CONVEYOR_PLUGINS_FORGE_GITEA_TOKEN (or token: ${ENV_NAME}) to an access token of Conveyor\'s Gitea user');
    const injected = ctx.container.isRegistered(ForgeGiteaTokens.Fetch, true) ? ctx.container.resolve<typeof fetch>(ForgeGiteaTokens.Fetch) : undefined;
    const client = new GiteaClient({ baseUrl: c.baseUrl, token: c.token, timeoutMs: c.requestTimeoutMs, ...(injected ? { fetch: injected } : {}) });
    const repoMap = new RepoMap(c.repositories, Object.keys(ctx.instanceConfig.repos));
    const forge = new GiteaForge({ client, repoMap, repos: ctx.instanceConfig.repos, mergeStyle: c.mergeStyle, publicUrl: c.publicUrl ?? c.baseUrl });
    ctx.provide(CoreTokens.Forge, forge);
    ctx.provide(ForgeGiteaTokens.Forge, forge);
    ctx.provide(ForgeGiteaTokens.Client, client);

    if (!c.webhookSecret) ctx.logger.warn({}, 'plugins.forge-gitea.webhookSecret is not set: every Gitea webhook delivery will be refused (401)');
    const stats: WebhookStats = { accepted: 0, duplicates: 0, ignored: 0, rejected: 0 };
    // Intake is resolved at delivery time: core binds it after plugins register.
    ctx.webhooks.onDelivery(GITEA_SOURCE, giteaDeliveryHandler({ intake: () => ctx.container.resolve<Intake>(CoreTokens.Intake), logger: ctx.logger }));
    ctx.addRoute(giteaWebhookRoute({ secret: c.webhookSecret, repoOf: (f) => repoMap.fromGitea(f), inScope: (r) => ctx.inScope(r), webhooks: ctx.webhooks, logger: ctx.logger, stats }));

    ctx.onStart(async () => {
      try {
        const me = await client.currentUser();
        ctx.logger.info({ baseUrl: c.baseUrl, user: me.login }, 'connected to Gitea');
      } catch (err) {
        // A wrong token fails every PR and merge: say so now. Gitea being down
        // for a moment must not keep Conveyor from starting.
        if (err instanceof GiteaApiError && err.code === 'FORGE_GITEA_UNAUTHORIZED') throw err;
        ctx.logger.warn({ baseUrl: c.baseUrl, err }, 'Gitea is not reachable at start; calls will be retried by their jobs');
      }
    });
    ctx.snapshot(() => ({ baseUrl: c.baseUrl, webhooks: { ...stats } }));
  },
});
