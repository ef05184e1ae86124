import { randomUUID } from 'node:crypto';
import type { FaultHost } from './fault-host.js';
import type { SeededRandom } from './seeded-random.js';

/** What the relay does to each delivery (every choice drawn from the scenario's seed). */
export interface RelayPolicy {
  /** Share of deliveries lost on the way (never reach a host). */
  drop: number;
  /** Share of deliveries sent twice (half of those again with the same delivery id, half as a retry under a new one). */
  duplicate: number;
  /** Longest random delay before a send, in ms: deliveries close in time arrive out of order. 0 keeps the order. */
  reorderWithinMs: number;
}

/** One delivery's fate, for the invariants. */
export interface RelayedDelivery {
  source: 'plane' | 'gitea';
  /** `X-Plane-Delivery` / `X-Gitea-Delivery` as the fake made it. */
  deliveryId: string;
  dropped: boolean;
  /** HTTP status of each send that reached a host (2xx = acknowledged). */
  answers: number[];
  body: string;
}

type Sender = (headers: Record<string, string>, body: string) => Promise<{ status: number; body: string }>;

/**
 * Stands between the fake Plane and Gitea and the hosts: every webhook goes to the
 * running host (any, when several run; a host restarted on a new port is found
 * again), and, by the policy and the seed, is lost, sent twice or delayed so that
 * deliveries overtake each other. Every delivery is logged with its fate.
 */
export class WebhookRelay {
  readonly deliveries: RelayedDelivery[] = [];
  policy: RelayPolicy = { drop: 0, duplicate: 0, reorderWithinMs: 0 };
  readonly #hosts: FaultHost[] = [];
  readonly #pending = new Set<Promise<unknown>>();

  constructor(private readonly random: SeededRandom | null) {}

  addHost(host: FaultHost): void {
    this.#hosts.push(host);
  }

  /** The `fetch` the fake Plane sends its webhooks with. */
  fetchFor(source: 'plane'): typeof fetch {
    return (async (_url: string | URL | Request, init?: RequestInit) => {
      const headers = { ...(init?.headers as Record<string, string>) };
      const out = await this.#relay(source, headers['X-Plane-Delivery'] ?? '', headers, String(init?.body ?? ''), (h, b) => this.#post(`/webhooks/${source}`, h, b), 'X-Plane-Delivery');
      if (out === null) throw new TypeError('fetch failed (the fault relay dropped this delivery)');
      return new Response(out.body, { status: out.status });
    }) as typeof fetch;
  }

  /** The `deliver` of the fake Gitea's webhook target. */
  deliverFor(source: 'gitea'): (request: { headers: Record<string, string>; body: Buffer }) => Promise<{ status: number; body: string }> {
    return async ({ headers, body }) => {
      const out = await this.#relay(source, headers['X-Gitea-Delivery'] ?? '', headers, body.toString('utf8'), (h, b) => this.#post(`/webhooks/${source}`, h, b), 'X-Gitea-Delivery');
      // Gitea records a lost delivery as a failed one; nothing retries it.
      return out ?? { status: 0, body: 'dropped by the fault relay' };
    };
  }

  /** Resolves when every send started so far has ended. */
  async settle(): Promise<void> {
    while (this.#pending.size) await Promise.allSettled([...this.#pending]);
  }

  /** Deliveries a host acknowledged (a 2xx on at least one send). */
  acknowledged(): RelayedDelivery[] {
    return this.deliveries.filter((d) => d.answers.some((s) => s >= 200 && s < 300));
  }

  async #relay(source: 'plane' | 'gitea', deliveryId: string, headers: Record<string, string>, body: string, send: Sender, idHeader: string): Promise<{ status: number; body: string } | null> {
    const d: RelayedDelivery = { source, deliveryId, dropped: false, answers: [], body };
    this.deliveries.push(d);
    const r = this.random;
    if (r && this.policy.drop > 0 && r.chance(this.policy.drop)) {
      d.dropped = true;
      return null;
    }
    const delay = r && this.policy.reorderWithinMs > 0 ? r.int(0, this.policy.reorderWithinMs) : 0;
    const twice = r !== null && this.policy.duplicate > 0 && r.chance(this.policy.duplicate);
    const sameId = r?.chance(0.5) ?? true;
    const once = async (h: Record<string, string>, wait: number): Promise<{ status: number; body: string }> => {
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      const out = await send(h, body);
      if (out.status > 0) d.answers.push(out.status);
      return out;
    };
    if (twice) {
      const again = sameId ? headers : { ...headers, [idHeader]: randomUUID() };
      this.#track(once(again, r!.int(0, Math.max(this.policy.reorderWithinMs, 1))));
    }
    return once(headers, delay);
  }

  async #post(route: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
    const host = this.#hosts.find((h) => h.url);
    if (!host) return { status: 0, body: 'no host running' };
    try {
      const res = await fetch(`${host.url}${route}`, { method: 'POST', headers, body });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      return { status: 0, body: (err as Error).message };
    }
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }
}
