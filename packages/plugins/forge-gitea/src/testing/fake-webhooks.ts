import { createHmac, randomUUID } from 'node:crypto';
import { goMarshalIndent } from './go-json.js';

/** Where the fake sends its webhooks. */
export interface FakeWebhookTarget {
  /** The webhook's secret (signs every delivery). */
  secret: string;
  /** POSTed to over HTTP (a running host). */
  url?: string;
  /** Or called in-process instead (a route handler, no socket). Wins over `url`. */
  deliver?: (request: { headers: Record<string, string>; body: Buffer }) => Promise<{ status: number; body: string }>;
}

/** One delivery the fake made, kept so a test can replay, resend or reorder it. */
export interface FakeDelivery {
  /** `X-Gitea-Delivery`: new for every delivery, replays included. */
  uuid: string;
  eventType: string;
  headers: Record<string, string>;
  /** The exact bytes sent (and signed). */
  body: Buffer;
  response: { status: number; body: string } | null;
}

const sign = (algorithm: 'sha256' | 'sha1', secret: string, body: Buffer): string => createHmac(algorithm, secret).update(body).digest('hex');

/**
 * The webhook side of the fake Gitea: bodies are Go `MarshalIndent` bytes,
 * headers are those of `services/webhook/deliver.go` (Gitea, Gogs and GitHub
 * copies, both signatures), every delivery is logged with its answer.
 */
export class FakeWebhooks {
  readonly deliveries: FakeDelivery[] = [];

  constructor(public target: FakeWebhookTarget | null) {}

  /**
   * Sends one event. `emptyEventHeader` reproduces Gitea 1.23.0, which sent
   * status deliveries with an empty `X-Gitea-Event` (go-gitea/gitea#33244).
   */
  async send(eventType: string, payload: unknown, options: { emptyEventHeader?: boolean } = {}): Promise<FakeDelivery> {
    const body = Buffer.from(goMarshalIndent(payload), 'utf8');
    const group = options.emptyEventHeader ? '' : eventType.startsWith('pull_request') ? 'pull_request' : eventType;
    return this.#dispatch(this.#delivery(randomUUID(), eventType, group, body));
  }

  /** Gitea's "Replay" (`ReplayHookTask`): the same bytes under a new delivery UUID. */
  async redeliver(d: FakeDelivery): Promise<FakeDelivery> {
    return this.#dispatch(this.#delivery(randomUUID(), d.eventType, d.headers['X-Gitea-Event'] ?? d.eventType, d.body));
  }

  /** The very same delivery again (same UUID, same bytes): a retry after a lost answer, or a reorder. */
  async resend(d: FakeDelivery): Promise<FakeDelivery> {
    return this.#dispatch(this.#delivery(d.uuid, d.eventType, d.headers['X-Gitea-Event'] ?? d.eventType, d.body));
  }

  #delivery(uuid: string, eventType: string, group: string, body: Buffer): FakeDelivery {
    if (!this.target) throw new Error('the fake Gitea has no webhook target: pass `webhook` to FakeGitea.start() or set fake.webhooks.target');
    const sha256 = sign('sha256', this.target.secret, body);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'GiteaServer',
      'X-GitHub-Delivery': uuid,
      'X-GitHub-Event': group,
      'X-GitHub-Event-Type': eventType,
      'X-Gitea-Delivery': uuid,
      'X-Gitea-Event': group,
      'X-Gitea-Event-Type': eventType,
      'X-Gitea-Signature': sha256,
      'X-Gogs-Delivery': uuid,
      'X-Gogs-Event': group,
      'X-Gogs-Event-Type': eventType,
      'X-Gogs-Signature': sha256,
      'X-Hub-Signature': `sha1=${sign('sha1', this.target.secret, body)}`,
      'X-Hub-Signature-256': `sha256=${sha256}`,
    };
    return { uuid, eventType, headers, body, response: null };
  }

  async #dispatch(d: FakeDelivery): Promise<FakeDelivery> {
    const target = this.target!;
    if (target.deliver) {
      d.response = await target.deliver({ headers: { ...d.headers }, body: Buffer.from(d.body) });
    } else if (target.url) {
      const res = await fetch(target.url, { method: 'POST', headers: d.headers, body: d.body });
      d.response = { status: res.status, body: await res.text() };
    } else {
      throw new Error('the fake Gitea webhook target has neither `url` nor `deliver`');
    }
    this.deliveries.push(d);
    return d;
  }
}
