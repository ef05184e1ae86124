import type { Logger, RouteDescriptor, RouteResponse, WebhookVerdict, WebhookVerifyRequest } from '@conveyor/core';
import { PlaneWebhookError } from './errors.js';
import { PLANE_SIGNATURE_HEADER, verifyPlaneSignature } from './signature.js';
import { parsePlaneWebhook, planeDeliveryKey, planeIntent } from './webhook-payload.js';

/** The inbox source name of Plane deliveries. */
export const PLANE_SOURCE = 'plane';
/** Where Plane's webhook is registered. */
export const PLANE_WEBHOOK_PATH = '/webhooks/plane';
/** Plane work items carry descriptions inline; 1 MiB leaves room and still bounds a hostile sender. */
export const PLANE_WEBHOOK_BODY_LIMIT = 1024 * 1024;

/** The 401 message: the usual cause is a secret copied wrongly, so say where each end keeps it. */
export const PLANE_UNAUTHORIZED_MESSAGE = 'invalid or missing X-Plane-Signature: check plugins.tracker-plane.webhookSecret matches the webhook secret in Plane';

/** Core's webhook inbox, as the route uses it (`ctx.webhooks`). */
export interface DeliveryAcceptor {
  accept(input: { source: string; deliveryKey: string; payload: string }): Promise<{ id: number; duplicate: boolean }>;
}

/** What the webhook route needs: the secret, the filters, and where to record. */
export interface PlaneWebhookRouteOptions {
  webhookSecret: string;
  /** Deliveries by this Plane user are Conveyor's own changes. */
  botUserId: string | null;
  /** The repo a Plane project feeds, or null when Conveyor does not serve the project. */
  repoOf(projectId: string): string | null;
  /** The plugin's `repos` scope. */
  inScope(repo: string): boolean;
  inbox: DeliveryAcceptor;
  logger: Logger;
}

/** What the route did, for the plugin's `/queue` block. */
export interface PlaneWebhookStats {
  accepted: number;
  duplicates: number;
  ignored: number;
  rejected: number;
}


/**
 * `POST /webhooks/plane`: verify → parse → filter → record. The reply is fast and
 * nothing is processed before it: Plane does not retry a 5xx and disables a webhook
 * after five failures, so the delivery is recorded in core's inbox (acknowledged
 * only once committed) and processed after the answer; the reconciler's polling
 * covers what is lost anyway. Nothing is written for a delivery that fails the
 * signature (401), does not parse (400), or is filtered out (202 `ignored`).
 */
export function planeWebhookRoute(o: PlaneWebhookRouteOptions, stats: PlaneWebhookStats = { accepted: 0, duplicates: 0, ignored: 0, rejected: 0 }): RouteDescriptor {
  // The host runs this before the handler; the handler runs it again so the route
  // stays closed wherever it is mounted. Only a refusal counts, so nothing counts twice.
  const verify = (req: WebhookVerifyRequest): WebhookVerdict => {
    if (verifyPlaneSignature(req.rawBody, o.webhookSecret, req.headers[PLANE_SIGNATURE_HEADER])) return { ok: true };
    stats.rejected++;
    o.logger.warn({ delivery: header(req.headers, 'x-plane-delivery'), hasSignature: req.headers[PLANE_SIGNATURE_HEADER] !== undefined }, 'Plane delivery refused: bad or missing signature');
    return { ok: false, message: PLANE_UNAUTHORIZED_MESSAGE };
  };
  return {
    method: 'POST',
    url: PLANE_WEBHOOK_PATH,
    auth: 'webhook',
    rawBody: true,
    bodyLimit: PLANE_WEBHOOK_BODY_LIMIT,
    description: 'Plane v1 webhook (issue, issue_comment): signature-checked, recorded, then handed to intake.',
    verify,
    async handler(req) {
      const ignored = (reason: string): RouteResponse => {
        stats.ignored++;
        return { status: 202, body: { ignored: reason } };
      };
      const raw = req.rawBody ?? Buffer.alloc(0);
      const delivery = header(req.headers, 'x-plane-delivery');
      const verdict = verify({ headers: req.headers, rawBody: raw });
      if (!verdict.ok) return { status: 401, body: { error: 'unauthorized', message: verdict.message } };
      const payload = raw.toString('utf8');
      let deliveryKey: string;
      let intent: ReturnType<typeof planeIntent>;
      let actorId: string | null;
      try {
        const hook = parsePlaneWebhook(payload);
        intent = planeIntent(hook);
        deliveryKey = planeDeliveryKey(hook);
        actorId = hook.activity.actorId;
      } catch (err) {
        if (!(err instanceof PlaneWebhookError)) throw err;
        stats.rejected++;
        o.logger.info({ delivery, reason: err.message }, 'Plane delivery refused: malformed body');
        return { status: 400, body: { error: 'bad_request', message: err.message } };
      }
      if (intent.kind === 'ignore') return ignored(intent.reason);
      const repo = o.repoOf(intent.projectId);
      if (repo === null) {
        o.logger.info({ delivery, projectId: intent.projectId }, 'Plane delivery ignored: the project is not under plugins.tracker-plane.projects');
        return ignored(`unknown project ${intent.projectId}`);
      }
      if (o.botUserId !== null && actorId === o.botUserId) return ignored("the actor is Conveyor's bot user (botUserId)");
      if (!o.inScope(repo)) return ignored(`repo ${repo} is not in plugins.tracker-plane.repos`);
      const res = await o.inbox.accept({ source: PLANE_SOURCE, deliveryKey, payload });
      if (res.duplicate) stats.duplicates++;
      else stats.accepted++;
      return { status: 202, body: { accepted: true, duplicate: res.duplicate } };
    },
  };
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = headers[name];
  return typeof v === 'string' ? v : null;
}
