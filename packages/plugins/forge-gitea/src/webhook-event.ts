import { createHash } from 'node:crypto';
import type { CiState } from '@conveyor/core';
import { GiteaPayloadError, PayloadReader } from './payload-reader.js';
import { headerValue, type HeaderMap } from './signature.js';

/** Commit status states Gitea sends (`skipped` only from newer servers). */
export const GITEA_CI_STATES = ['pending', 'success', 'error', 'failure', 'warning', 'skipped'] as const satisfies readonly CiState[];

/** The events Conveyor uses; every other one is acknowledged and ignored. */
export const USED_EVENTS = ['status', 'pull_request', 'push'] as const;
/** `status`, `pull_request` or `push`. */
export type UsedEvent = (typeof USED_EVENTS)[number];

/** One commit status of one CI context (Gitea Actions: one per job). */
export interface GiteaStatusEvent {
  kind: 'status';
  /** `owner/name` as Gitea spells it. */
  fullName: string;
  sha: string;
  context: string;
  state: CiState;
  targetUrl: string | null;
  /** Gitea's id of this status row: a new one for every state change. */
  statusId: number | null;
  updatedAt: string | null;
}

export interface GiteaPullRequestEvent {
  kind: 'pull_request';
  fullName: string;
  action: string;
  number: number;
  merged: boolean;
  /** The head branch (`pull_request.head.ref`). */
  head: string;
  base: string;
  mergeSha: string | null;
  mergedAt: string | null;
}

export interface GiteaPushEvent {
  kind: 'push';
  fullName: string;
  ref: string;
  before: string | null;
  after: string;
}

export type GiteaEvent = GiteaStatusEvent | GiteaPullRequestEvent | GiteaPushEvent;

/**
 * The event of a delivery: `X-Gitea-Event-Type` first, then `X-Gitea-Event`; `''`
 * when neither is set. Gitea 1.23.0 sent `status` deliveries with an empty
 * `X-Gitea-Event` (go-gitea/gitea#33244); the type header was right all along.
 */
export function giteaEventName(headers: HeaderMap): string {
  const type = headerValue(headers, 'x-gitea-event-type')?.trim();
  const group = headerValue(headers, 'x-gitea-event')?.trim();
  return (type || group || '').toLowerCase();
}

/** True for the events Conveyor acts on (by type: `pull_request_sync` is not one). */
export function isUsedEvent(event: string): event is UsedEvent {
  return (USED_EVENTS as readonly string[]).includes(event);
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

function sha(r: PayloadReader, event: string, path: string): string {
  const v = r.string(path);
  if (!SHA.test(v)) throw new GiteaPayloadError(`${event} payload: "${path}" must be a 40- or 64-digit lower-case hex commit id (found ${JSON.stringify(v.slice(0, 70))})`);
  return v;
}

/**
 * Parses the raw body of a used event into what Conveyor needs, checking every
 * field it reads. Throws `GiteaPayloadError` (→ 400) naming the first problem.
 */
export function parseGiteaEvent(event: UsedEvent, raw: Buffer | string): GiteaEvent {
  const r = PayloadReader.parse(event, raw);
  const fullName = r.string('repository.full_name');
  switch (event) {
    case 'status':
      return {
        kind: 'status',
        fullName,
        sha: sha(r, event, 'sha'),
        context: r.string('context'),
        state: r.oneOf('state', GITEA_CI_STATES),
        // Gitea sends "" when the status has no link.
        targetUrl: r.optionalString('target_url') || null,
        statusId: r.optionalInteger('id'),
        updatedAt: r.optionalString('updated_at'),
      };
    case 'pull_request':
      return {
        kind: 'pull_request',
        fullName,
        action: r.string('action'),
        number: r.integer('number'),
        merged: r.boolean('pull_request.merged'),
        head: r.string('pull_request.head.ref'),
        base: r.string('pull_request.base.ref'),
        mergeSha: r.optionalString('pull_request.merge_commit_sha') || null,
        mergedAt: r.optionalString('pull_request.merged_at') || null,
      };
    case 'push':
      return { kind: 'push', fullName, ref: r.string('ref'), before: r.optionalString('before'), after: r.string('after') };
  }
}

/** True for the one pull_request event Conveyor acts on: closed by a merge. */
export function isMerge(e: GiteaPullRequestEvent): boolean {
  return e.action === 'closed' && e.merged;
}

/**
 * The inbox key of an event, from its content. `X-Gitea-Delivery` cannot be used:
 * a redelivery (Gitea's "Replay", `ReplayHookTask`) copies the payload bytes into a
 * new hook task with a new UUID. Hashed, because contexts and repo names can
 * exceed the inbox's 255-character key.
 */
export function giteaDeliveryKey(e: GiteaEvent): string {
  const parts =
    e.kind === 'status'
      ? [e.fullName.toLowerCase(), e.sha, e.context, e.state, e.statusId, e.updatedAt]
      : e.kind === 'pull_request'
        ? [e.fullName.toLowerCase(), e.number, e.action, e.merged, e.mergeSha ?? e.mergedAt]
        : [e.fullName.toLowerCase(), e.ref, e.before, e.after];
  return `${e.kind}:${createHash('sha256').update(JSON.stringify(parts)).digest('hex')}`;
}
