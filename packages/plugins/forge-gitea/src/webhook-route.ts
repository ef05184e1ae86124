import type { Logger, PluginContext, RouteDescriptor, RouteResponse, WebhookVerdict, WebhookVerifyRequest } from '@conveyor/core';
import { GiteaPayloadError } from './payload-reader.js';
import { headerValue, verifyGiteaSignature } from './signature.js';
import { giteaDeliveryKey, giteaEventName, isMerge, isUsedEvent, parseGiteaEvent, type GiteaEvent } from './webhook-event.js';

/** The inbox source of Gitea deliveries. */
export const GITEA_SOURCE = 'gitea';

/**
 * Larger than the host's 1 MiB default: a push payload lists every pushed commit
 * with its added, removed and modified files.
 */
export const WEBHOOK_BODY_LIMIT = 5 * 1024 * 1024;

/** What the route records for the delivery handler: the parsed event, already resolved to a Conveyor repo. */
export interface GiteaDeliveryPayload {
  v: 1;
  repo: string;
  /** `X-Gitea-Delivery`, for log correlation only (it changes on every redelivery). */
  delivery: string | null;
  event: GiteaEvent;
}

/** Counters shown in the plugin's `/queue` block. */
export interface WebhookStats {
  accepted: number;
  duplicates: number;
  ignored: number;
  rejected: number;
}

/** What the webhook route needs from the plugin and core. */
export interface GiteaWebhookRouteOptions {
  /** `plugins.forge-gitea.webhookSecret`; unset → every delivery is refused. */
  secret: string | undefined;
  /** The configured Conveyor repo of a Gitea `full_name`, or null. */
  repoOf(fullName: string): string | null;
  inScope(repo: string): boolean;
  webhooks: Pick<PluginContext['webhooks'], 'accept'>;
  logger: Logger;
  stats: WebhookStats;
}

const fail = (status: 400 | 401, message: string): RouteResponse => ({ status, body: { error: status === 400 ? 'bad_request' : 'unauthorized', message } });

/**
 * `POST /webhooks/gitea`: verify the signature over the raw bytes → parse → drop
 * what Conveyor does not use (other events, unconfigured repos, a close without
 * merge) with a 202 → record the delivery in core's inbox and answer 202. The
 * intake work runs after the reply (see `giteaDeliveryHandler`).
 */
export function giteaWebhookRoute(o: GiteaWebhookRouteOptions): RouteDescriptor {
  const reject = (status: 400, message: string, log: object): RouteResponse => {
    o.stats.rejected++;
    o.logger.warn({ ...log, status, reason: message }, 'gitea webhook rejected');
    return fail(status, message);
  };
  // The host runs this before the handler; the handler runs it again so the route
  // stays closed wherever it is mounted. Only a refusal counts, so nothing counts twice.
  const verify = (req: WebhookVerifyRequest): WebhookVerdict => {
    const refuse = (message: string): WebhookVerdict => {
      o.stats.rejected++;
      o.logger.warn({ delivery: headerValue(req.headers, 'x-gitea-delivery') ?? null, status: 401, reason: message }, 'gitea webhook rejected');
      return { ok: false, message };
    };
    if (!o.secret) return refuse('plugins.forge-gitea.webhookSecret is not set, so no delivery can be verified: set it (CONVEYOR_PLUGINS_FORGE_GITEA_WEBHOOK_SECRET) to the secret of the Gitea webhook');
    const verdict = verifyGiteaSignature(req.rawBody, o.secret, req.headers);
    if (verdict.ok) return { ok: true };
    return verdict.reason === 'missing'
      ? refuse('no X-Gitea-Signature or X-Hub-Signature-256 header: give the Gitea webhook a secret, the same as plugins.forge-gitea.webhookSecret')
      : refuse("signature does not match the body: verify that the Gitea webhook's secret equals plugins.forge-gitea.webhookSecret and that its content type is application/json");
  };
  const ignore = (reason: string, log: object): RouteResponse => {
    o.stats.ignored++;
    o.logger.info({ ...log, reason }, 'gitea webhook ignored');
    return { status: 202, body: { ignored: reason } };
  };

  return {
    method: 'POST',
    url: '/webhooks/gitea',
    auth: 'webhook',
    rawBody: true,
    bodyLimit: WEBHOOK_BODY_LIMIT,
    description: 'Gitea webhook (status, pull_request, push), signed with plugins.forge-gitea.webhookSecret',
    verify,
    async handler(req) {
      const raw = req.rawBody ?? Buffer.alloc(0);
      const delivery = headerValue(req.headers, 'x-gitea-delivery') ?? null;
      const log = { delivery };
      const verdict = verify({ headers: req.headers, rawBody: raw });
      if (!verdict.ok) return fail(401, verdict.message);
      const event = giteaEventName(req.headers);
      if (!event) return reject(400, 'no X-Gitea-Event-Type or X-Gitea-Event header: is this a Gitea webhook?', log);
      if (!isUsedEvent(event)) return ignore(`event "${event}" is not used (Conveyor uses status, pull_request and push)`, { ...log, event });
      let e: GiteaEvent;
      try {
        e = parseGiteaEvent(event, raw);
      } catch (err) {
        if (err instanceof GiteaPayloadError) return reject(400, err.message, { ...log, event });
        throw err;
      }
      const repo = o.repoOf(e.fullName);
      if (!repo) return ignore(`repository "${e.fullName}" is not configured: add it to repos, or map it in plugins.forge-gitea.repositories`, { ...log, event });
      if (!o.inScope(repo)) return ignore(`repo "${repo}" is outside plugins.forge-gitea.repos`, { ...log, event, repo });
      if (e.kind === 'pull_request' && !isMerge(e)) {
        return ignore(`pull_request "${e.action}"${e.action === 'closed' ? ' without a merge' : ''} does not drive the pipeline`, { ...log, event, repo });
      }
      const payload: GiteaDeliveryPayload = { v: 1, repo, delivery, event: e };
      const res = await o.webhooks.accept({ source: GITEA_SOURCE, deliveryKey: giteaDeliveryKey(e), payload: JSON.stringify(payload) });
      if (res.duplicate) o.stats.duplicates++;
      else o.stats.accepted++;
      o.logger.info({ ...log, event, repo, inboxId: res.id, duplicate: res.duplicate }, 'gitea webhook accepted');
      return { status: 202, body: { accepted: true, duplicate: res.duplicate } };
    },
  };
}
