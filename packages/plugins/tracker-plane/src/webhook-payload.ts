import { createHash } from 'node:crypto';
import { PlaneWebhookError } from './errors.js';
import { htmlToText } from './html.js';

/** Plane's webhook verbs. Older senders said `create`/`update`/`delete`; both spellings are read. */
export type PlaneAction = 'created' | 'updated' | 'deleted';

const ACTIONS: Record<string, PlaneAction> = { created: 'created', create: 'created', updated: 'updated', update: 'updated', deleted: 'deleted', delete: 'deleted' };

/** The message a v2 body gets (400): the CE sender is v1; v2 exists only in Plane's cloud docs. */
export const PLANE_V2_MESSAGE = 'Plane v2 webhooks are not supported yet; configure a v1 webhook';

/** A v1 delivery, checked for the fields Conveyor reads. */
export interface PlaneWebhook {
  event: string;
  /** Normalised verb; null for a verb this plugin does not know (the delivery is ignored). */
  action: PlaneAction | null;
  /** The verb as sent. */
  rawAction: string;
  webhookId: string | null;
  workspaceId: string | null;
  /** The issue (`IssueExpandSerializer`), the comment, …; only `id` is guaranteed. */
  data: Record<string, unknown> & { id: string };
  activity: { field: string | null; newValue: unknown; oldValue: unknown; actorId: string | null };
}

/** What a delivery means to Conveyor. */
export type PlaneIntent =
  | {
      kind: 'status';
      projectId: string;
      issueId: string;
      /** The issue's state now: `name` is null when Plane sent only the UUID (resolve it through the states list). */
      state: { id: string | null; name: string | null };
      title: string;
      description: string;
      sequence: number | null;
    }
  | { kind: 'comment'; projectId: string; issueId: string }
  | { kind: 'ignore'; reason: string };

type Obj = Record<string, unknown>;

/** The state-change fields: `state_id` from the web app, `state` from the public API. */
const STATE_FIELDS = new Set(['state_id', 'state']);

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
const bad = (path: string, expected: string, v: unknown) => new PlaneWebhookError(`${path} must be ${expected}, found ${v === undefined ? 'nothing' : typeName(v)}`);

function str(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw bad(`${path}.${key}`, 'a non-empty string', v);
  return v;
}

function optStr(o: Obj, key: string, path: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw bad(`${path}.${key}`, 'a string or null', v);
  return v;
}

/**
 * Parses the text of a delivery. Throws `PlaneWebhookError` (answered 400) naming
 * the problem: not JSON, not an object, a v2 body, a missing or mistyped field that
 * Conveyor reads. Fields Conveyor does not read are not checked.
 */
export function parsePlaneWebhook(text: string): PlaneWebhook {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new PlaneWebhookError(`body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObj(body)) throw new PlaneWebhookError(`body must be a JSON object, found ${typeName(body)}`);
  // v2 (Plane cloud docs) has `version: "v2"` and dotted events (`workitem.updated`).
  if (body.version === 'v2' || (typeof body.event === 'string' && body.event.includes('.'))) throw new PlaneWebhookError(PLANE_V2_MESSAGE);
  const event = str(body, 'event', 'body');
  const rawAction = str(body, 'action', 'body');
  if (!isObj(body.data)) throw bad('body.data', 'an object', body.data);
  const data = body.data;
  str(data, 'id', 'body.data');
  if (body.activity !== undefined && body.activity !== null && !isObj(body.activity)) throw bad('body.activity', 'an object or null', body.activity);
  const activity: Obj = body.activity ?? {};
  const field = optStr(activity, 'field', 'body.activity');
  const actor = activity.actor;
  if (actor !== undefined && actor !== null && !isObj(actor)) throw bad('body.activity.actor', 'an object or null', actor);
  return {
    event,
    action: ACTIONS[rawAction] ?? null,
    rawAction,
    webhookId: optStr(body, 'webhook_id', 'body'),
    workspaceId: optStr(body, 'workspace_id', 'body'),
    data: data as PlaneWebhook['data'],
    activity: { field, newValue: activity.new_value ?? null, oldValue: activity.old_value ?? null, actorId: actor ? optStr(actor, 'id', 'body.activity.actor') : null },
  };
}

/**
 * `activity.new_value` as key text. Plane sends a string or null; anything else is
 * serialised, and a value nested too deeply to serialise is the sender's fault (400),
 * not a server error.
 */
function valueKey(v: unknown): string {
  try {
    return JSON.stringify(v ?? null);
  } catch (err) {
    throw new PlaneWebhookError(`body.activity.new_value cannot be read: ${(err as Error).message}`);
  }
}

/**
 * The inbox key of a delivery, from its content. Plane gives every attempt a new
 * `X-Plane-Delivery`, so that header cannot recognise a retry; the same change
 * always yields the same event, issue, `updated_at`, field and new value.
 */
export function planeDeliveryKey(hook: PlaneWebhook): string {
  const parts = [hook.event, hook.action ?? hook.rawAction, hook.data.id, String(hook.data.updated_at ?? ''), hook.activity.field ?? '', valueKey(hook.activity.newValue)];
  return createHash('sha256').update(parts.join('|')).digest('hex');
}

/**
 * What a delivery asks of Conveyor. A state change (`updated` with field
 * `state_id`/`state`) and an issue `created` (Plane sends only that one delivery
 * for an issue filed straight into a state such as "To Analyse") are status
 * events; `issue_comment` is a comment (it never changes state); the rest is
 * ignored with a reason. Throws `PlaneWebhookError` for a mistyped field it reads.
 */
export function planeIntent(hook: PlaneWebhook): PlaneIntent {
  const d = hook.data;
  if (hook.event === 'issue_comment') {
    if (hook.action === 'deleted') return { kind: 'ignore', reason: 'comment deleted' };
    return { kind: 'comment', projectId: str(d, 'project', 'body.data'), issueId: str(d, 'issue', 'body.data') };
  }
  if (hook.event !== 'issue') return { kind: 'ignore', reason: `event "${hook.event}" is not used` };
  if (hook.action === null) return { kind: 'ignore', reason: `action "${hook.rawAction}" is not used` };
  if (hook.action === 'deleted') return { kind: 'ignore', reason: 'issue deleted' };
  const stateChange = hook.action === 'created' || (hook.activity.field !== null && STATE_FIELDS.has(hook.activity.field));
  if (!stateChange) return { kind: 'ignore', reason: `not a state change (field ${hook.activity.field ?? 'none'})` };
  const seq = d.sequence_id;
  if (seq !== undefined && seq !== null && (typeof seq !== 'number' || !Number.isInteger(seq))) throw bad('body.data.sequence_id', 'an integer or null', seq);
  return {
    kind: 'status',
    projectId: str(d, 'project', 'body.data'),
    issueId: d.id,
    state: stateOf(d, hook),
    title: optStr(d, 'name', 'body.data') ?? '',
    // From the HTML: it keeps paragraph breaks, and Django's strip_tags leaves entities (`&amp;`) in description_stripped.
    description: htmlToText(optStr(d, 'description_html', 'body.data') ?? optStr(d, 'description_stripped', 'body.data') ?? ''),
    sequence: typeof seq === 'number' ? seq : null,
  };
}

function stateOf(d: Obj, hook: PlaneWebhook): { id: string | null; name: string | null } {
  const s = d.state;
  let current: { id: string | null; name: string | null } | null = null;
  if (isObj(s)) current = { id: optStr(s, 'id', 'body.data.state'), name: optStr(s, 'name', 'body.data.state') || null };
  else if (typeof s === 'string' && s !== '') current = { id: s, name: null };
  else if (s !== undefined && s !== null) throw bad('body.data.state', 'an object {id, name} or a state id', s);
  const field = hook.activity.field;
  const moved = field !== null && STATE_FIELDS.has(field) && typeof hook.activity.newValue === 'string' && hook.activity.newValue !== '' ? hook.activity.newValue : null;
  // Plane re-reads `data` when it sends: after a quick second move, `data.state` is already
  // the later state, and the transition this delivery reports ("To Analyse") would be lost.
  if (moved && current?.id !== moved) return { id: moved, name: null };
  if (!current) throw new PlaneWebhookError('body.data.state is missing and body.activity.new_value names no state');
  return current;
}
