import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { commentForApi, CONVEYOR_STATES, FAKE_BOT, FAKE_HUMAN, FAKE_PROJECT_ID, issueForWebhook, planeNow, seedStates, type FakeComment, type FakeIssue, type FakePlaneUser, type FakeState } from './fake-plane-model.js';
import { mountFakePlaneRoutes } from './fake-plane-routes.js';
import { FakeWebhookSender, type FakeDelivery, type FakeDeliveryAttempt } from './fake-plane-webhooks.js';

/** How a `FakePlane` behaves; every option has a default. */
export interface FakePlaneOptions {
  /** The only accepted `X-API-Key`. @default 'plane_api_fake_key' */
  apiKey?: string;
  /** The webhook's secret. @default the fixtures' secret */
  webhookSecret?: string;
  /** @default 'acme' */
  workspaceSlug?: string;
  /** Where webhooks go; settable later with `setWebhookUrl`. */
  webhookUrl?: string;
  /** States added to every project besides the fixture's five. @default Conveyor's default status names */
  extraStates?: readonly { name: string; group: string }[];
  /** Changes made through the API come back as webhooks with the bot as actor, as in Plane. @default true */
  echoApiChanges?: boolean;
  /** @default true; false holds deliveries until `deliver(i)` */
  autoDeliver?: boolean;
  /** Requests per window before 429 (Plane: 60 a minute). @default 1000 */
  rateLimit?: number;
  /** @default 60000 */
  rateWindowMs?: number;
  /** For sending webhooks. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** One REST call the fake answered. */
export interface FakePlaneCall {
  method: string;
  path: string;
  query: Record<string, string>;
  apiKey: string | null;
  body: unknown;
  status?: number;
}

/** Default secret: the fixtures' (so the fixture signatures verify). */
export const FAKE_WEBHOOK_SECRET = 'plane_wh_5f2b8c1d9e7a4b3c8d6e0f1a2b3c4d5e';
/** The fake's default API key. */
export const FAKE_API_KEY = 'plane_api_fake_key';

/**
 * A Plane server for tests, on 127.0.0.1 (any free port): workspaces/projects/
 * states/work-items/comments in memory, the public REST API's paths, auth, cursor
 * pagination and rate-limit headers, and webhooks byte-shaped and signed like
 * Plane's. `calls` records every request; `inject429` makes the next ones throttled.
 */
export class FakePlane {
  readonly apiKey: string;
  readonly webhookSecret: string;
  readonly workspaceSlug: string;
  readonly projectId = FAKE_PROJECT_ID;
  readonly human: FakePlaneUser = FAKE_HUMAN;
  readonly bot: FakePlaneUser = FAKE_BOT;
  readonly calls: FakePlaneCall[] = [];
  readonly states = new Map<string, FakeState[]>();
  readonly issues = new Map<string, FakeIssue>();
  readonly comments: FakeComment[] = [];
  readonly webhooks: FakeWebhookSender;
  readonly echoApiChanges: boolean;
  readonly rateLimit: number;
  readonly rateWindowMs: number;
  /** 429s still to answer (`inject429`), each with its headers. */
  readonly throttles: Record<string, string>[] = [];
  readonly #extraStates: readonly { name: string; group: string }[];
  readonly #sequences = new Map<string, number>();
  #app: FastifyInstance | null = null;
  #url = '';

  private constructor(o: FakePlaneOptions) {
    this.apiKey = o.apiKey ?? FAKE_API_KEY;
    this.webhookSecret = o.webhookSecret ?? FAKE_WEBHOOK_SECRET;
    this.workspaceSlug = o.workspaceSlug ?? 'acme';
    this.echoApiChanges = o.echoApiChanges ?? true;
    this.rateLimit = o.rateLimit ?? 1000;
    this.rateWindowMs = o.rateWindowMs ?? 60_000;
    this.#extraStates = o.extraStates ?? CONVEYOR_STATES;
    this.webhooks = new FakeWebhookSender({ secret: this.webhookSecret, url: o.webhookUrl ?? null, autoDeliver: o.autoDeliver ?? true, fetch: o.fetch ?? globalThis.fetch });
    this.addProject(FAKE_PROJECT_ID);
  }

  /** Starts a fake Plane; stop it with `close()` (e.g. `t.after(() => plane.close())`). */
  static async start(options: FakePlaneOptions = {}): Promise<FakePlane> {
    const plane = new FakePlane(options);
    const app = Fastify({ logger: false });
    mountFakePlaneRoutes(app, plane);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    plane.#app = app;
    plane.#url = address;
    return plane;
  }

  /** The base URL (`plugins.tracker-plane.baseUrl`). */
  get url(): string {
    return this.#url;
  }

  /** Every webhook produced, in order (`deliveries[i].attempts` are its sends). */
  get deliveries(): readonly FakeDelivery[] {
    return this.webhooks.deliveries;
  }

  /** Where webhooks go from now on (null: record only). */
  setWebhookUrl(url: string | null): void {
    this.webhooks.options.url = url;
  }

  /** Adds a project with the fixture's states (fresh ids) and the extra states; returns its id. */
  addProject(id: string = randomUUID()): string {
    const states = seedStates(id);
    let seq = Math.max(...states.map((s) => s.sequence));
    for (const s of this.#extraStates) if (!states.some((x) => x.name === s.name)) states.push({ id: randomUUID(), name: s.name, group: s.group, color: '#3A86FF', sequence: (seq += 10_000), project: id });
    this.states.set(id, states);
    this.#sequences.set(id, 0);
    return id;
  }

  /** The state of that name in the project (exact name); throws when there is none. */
  state(name: string, projectId: string = this.projectId): FakeState {
    const s = this.states.get(projectId)?.find((x) => x.name === name);
    if (!s) throw new Error(`fake Plane project ${projectId} has no state "${name}"`);
    return s;
  }

  /** The current state of a work item. */
  stateOf(issue: FakeIssue): FakeState {
    return this.states.get(issue.project)!.find((s) => s.id === issue.state)!;
  }

  /** A work item by id; throws when there is none. */
  issue(id: string): FakeIssue {
    const i = this.issues.get(id);
    if (!i) throw new Error(`fake Plane has no work item ${id}`);
    return i;
  }

  /** Files a work item (as a person in the web app) and posts the `created` webhook unless `silent`. */
  createIssue(input: { name: string; state?: string; descriptionHtml?: string; projectId?: string; actor?: FakePlaneUser; silent?: boolean }): FakeIssue {
    const projectId = input.projectId ?? this.projectId;
    const actor = input.actor ?? this.human;
    const seq = (this.#sequences.get(projectId) ?? 0) + 1;
    this.#sequences.set(projectId, seq);
    const now = planeNow();
    const issue: FakeIssue = {
      id: randomUUID(), project: projectId, name: input.name, descriptionHtml: input.descriptionHtml ?? '<p></p>', state: this.state(input.state ?? 'Backlog', projectId).id,
      sequenceId: seq, priority: 'none', createdAt: now, updatedAt: now, createdBy: actor.id, updatedBy: null,
    };
    this.issues.set(issue.id, issue);
    if (!input.silent) this.webhooks.emit('issue', 'created', this.expand(issue), { field: null, newValue: null, oldValue: null, actor });
    return issue;
  }

  /**
   * Moves a work item to a state and posts the `updated` webhook, as the web app
   * does (`field: "state_id"`; the public API's PATCH says `"state"`).
   */
  moveIssue(issueId: string, stateName: string, options: { actor?: FakePlaneUser; actorId?: string; field?: 'state_id' | 'state' } = {}): FakeDelivery {
    const issue = this.issue(issueId);
    const actor = options.actor ?? (options.actorId ? { ...this.human, id: options.actorId } : this.human);
    const old = issue.state;
    issue.state = this.state(stateName, issue.project).id;
    issue.updatedAt = planeNow();
    issue.updatedBy = actor.id;
    return this.webhooks.emit('issue', 'updated', this.expand(issue), { field: options.field ?? 'state_id', newValue: issue.state, oldValue: old, actor });
  }

  /** A person's comment in the web app, with its `issue_comment` webhook. */
  addHumanComment(issueId: string, html: string, actor: FakePlaneUser = this.human): FakeComment {
    return this.recordComment(this.issue(issueId), html, actor);
  }

  /** Sends delivery `i` again with a new `X-Plane-Delivery` (what Plane's retry does). */
  redeliver(i: number, options: { signature?: string } = {}): Promise<FakeDeliveryAttempt> {
    return this.webhooks.deliver(i, options);
  }

  /** Sends a held delivery (`autoDeliver: false`). */
  deliver(i: number): Promise<FakeDeliveryAttempt> {
    return this.webhooks.deliver(i);
  }

  /** Makes the next `times` API requests answer 429 with `Retry-After` and/or `X-RateLimit-Reset` (epoch s). */
  inject429(options: { times?: number; retryAfterSec?: number; resetInSec?: number } = {}): void {
    for (let n = 0; n < (options.times ?? 1); n++) {
      const h: Record<string, string> = { 'X-RateLimit-Remaining': '0' };
      if (options.retryAfterSec !== undefined) h['Retry-After'] = String(options.retryAfterSec);
      if (options.resetInSec !== undefined) h['X-RateLimit-Reset'] = String(Math.ceil(Date.now() / 1000 + options.resetInSec));
      this.throttles.push(h);
    }
  }

  /** The calls to one path suffix (`'/states/'`, `'/work-items/'` …). */
  callsTo(method: string, pathEndsWith: string): FakePlaneCall[] {
    return this.calls.filter((c) => c.method === method && c.path.endsWith(pathEndsWith));
  }

  /** Resolves once every webhook send started so far has been answered. */
  settle(): Promise<void> {
    return this.webhooks.settle();
  }

  /** Waits for webhook sends in flight, then stops the server. */
  async close(): Promise<void> {
    await this.webhooks.settle();
    await this.#app?.close();
    this.#app = null;
  }

  /** @internal the issue as a webhook's `data`. */
  expand(issue: FakeIssue): Record<string, unknown> {
    return issueForWebhook(issue, this.stateOf(issue));
  }

  /** @internal stores a comment and posts its webhook. */
  recordComment(issue: FakeIssue, html: string, actor: FakePlaneUser, echo = true, external: { id: string; source: string } | null = null): FakeComment {
    const c: FakeComment = { id: randomUUID(), issue: issue.id, project: issue.project, commentHtml: html, actor: actor.id, createdAt: planeNow(), externalId: external?.id ?? null, externalSource: external?.source ?? null };
    this.comments.push(c);
    if (echo) this.webhooks.emit('issue_comment', 'created', commentForApi(c), { field: null, newValue: null, oldValue: null, actor });
    return c;
  }
}
