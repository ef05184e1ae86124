import { randomUUID } from 'node:crypto';
import { signPlaneBody } from '../signature.js';
import { FAKE_WEBHOOK_ID, FAKE_WORKSPACE_ID, type FakePlaneUser } from './fake-plane-model.js';
import { pythonJsonDumps } from './python-json.js';

/** One send of a delivery (Plane gives each its own `X-Plane-Delivery`). */
export interface FakeDeliveryAttempt {
  deliveryId: string;
  /** The receiver's HTTP status; null when the request failed. */
  status: number | null;
  response: string;
  error: string | null;
}

/** A webhook the fake produced: the exact bytes, signed once, sent zero or more times. */
export interface FakeDelivery {
  index: number;
  event: string;
  action: string;
  /** Python `json.dumps` bytes, as Plane signs and sends them. */
  body: string;
  signature: string;
  attempts: FakeDeliveryAttempt[];
}

/** Where and how the fake sends (mutable: `url` and `autoDeliver` may change). */
export interface WebhookSenderOptions {
  secret: string;
  url: string | null;
  /** false: record deliveries without sending them; tests send with `deliver(i)` (to reorder). @default true */
  autoDeliver: boolean;
  fetch: typeof fetch;
}

/** The `activity` of a delivery. */
export interface ActivityInput {
  field: string | null;
  newValue: unknown;
  oldValue: unknown;
  actor: FakePlaneUser;
}

/**
 * Plane's `webhook_send_task`, for tests: builds `{event, action, webhook_id,
 * workspace_id, data, activity}`, serialises it like Python's `json.dumps`, signs
 * those bytes, and POSTs them with Plane's headers. Every delivery is logged; tests
 * can send one again (`redeliver`, a new delivery id as on Plane's retry) or hold
 * them back and send them in another order (`autoDeliver: false` + `deliver`).
 */
export class FakeWebhookSender {
  readonly deliveries: FakeDelivery[] = [];
  readonly #pending = new Set<Promise<unknown>>();

  constructor(readonly options: WebhookSenderOptions) {}

  /** Records (and unless held, sends) one delivery. */
  emit(event: string, action: string, data: Record<string, unknown>, activity: ActivityInput): FakeDelivery {
    const payload = {
      event,
      action,
      webhook_id: FAKE_WEBHOOK_ID,
      workspace_id: FAKE_WORKSPACE_ID,
      data,
      activity: { field: activity.field, new_value: activity.newValue, old_value: activity.oldValue, actor: activity.actor, old_identifier: null, new_identifier: null },
    };
    const body = pythonJsonDumps(payload);
    const d: FakeDelivery = { index: this.deliveries.length, event, action, body, signature: signPlaneBody(body, this.options.secret), attempts: [] };
    this.deliveries.push(d);
    if (this.options.autoDeliver && this.options.url) this.#track(this.deliver(d.index));
    return d;
  }

  /** Sends delivery `i` (again), with a fresh delivery id; resolves with the attempt. */
  async deliver(i: number, options: { signature?: string } = {}): Promise<FakeDeliveryAttempt> {
    const d = this.deliveries[i];
    if (!d) throw new Error(`no delivery ${i} (there are ${this.deliveries.length})`);
    if (!this.options.url) throw new Error('the fake Plane has no webhook URL: call setWebhookUrl(url) first');
    const attempt: FakeDeliveryAttempt = { deliveryId: randomUUID(), status: null, response: '', error: null };
    d.attempts.push(attempt);
    try {
      const res = await this.options.fetch(this.options.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Autopilot',
          'X-Plane-Delivery': attempt.deliveryId,
          'X-Plane-Event': d.event,
          'X-Plane-Signature': options.signature ?? d.signature,
        },
        body: d.body,
        // Plane's sender gives up after 30 s.
        signal: AbortSignal.timeout(30_000),
      });
      attempt.status = res.status;
      attempt.response = await res.text();
    } catch (err) {
      attempt.error = (err as Error).message;
    }
    return attempt;
  }

  /** Resolves when every send started so far has finished. */
  async settle(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }
}
