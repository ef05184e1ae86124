import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A Plane user as `UserLite` serialises it. */
export interface FakePlaneUser {
  id: string;
  first_name: string;
  last_name: string;
  email: string;
  avatar: string;
  avatar_url: string | null;
  display_name: string;
}

/** A project state the fake keeps. */
export interface FakeState {
  id: string;
  name: string;
  color: string;
  group: string;
  sequence: number;
  project: string;
}

/** A work item the fake keeps (camelCase; serialised by `issueForApi` / `issueForWebhook`). */
export interface FakeIssue {
  id: string;
  project: string;
  name: string;
  descriptionHtml: string;
  state: string;
  sequenceId: number;
  priority: string;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string | null;
  /** Ids of the work items this one is "blocked by" (its relations). */
  blockedBy?: string[];
}

/** A comment the fake keeps. */
export interface FakeComment {
  id: string;
  issue: string;
  project: string;
  commentHtml: string;
  actor: string;
  createdAt: string;
  externalId?: string | null;
  externalSource?: string | null;
}

/** The workspace id of the fixtures. */
export const FAKE_WORKSPACE_ID = '9a2d4c6e-1b3f-4e5a-8c7d-0f1e2d3c4b5a';
/** The project of the fixtures; every fake Plane has it. */
export const FAKE_PROJECT_ID = '5f0c9e2a-7b41-4d8e-9a63-2c1b0e8f7d64';
/** The webhook id of the fixtures. */
export const FAKE_WEBHOOK_ID = 'c4e1a7b2-58d9-4f3e-b0a6-7d2c9e1f4a83';

/** The person of the fixtures: changes made "in the web app" are hers unless a test says otherwise. */
export const FAKE_HUMAN: FakePlaneUser = Object.freeze({ id: '3b8e2f1a-9c4d-4e6b-a7f0-1d2c3e4f5a6b', first_name: 'Dana', last_name: 'Ops', email: 'dana@example.com', avatar: '', avatar_url: null, display_name: 'dana' });
/** The owner of the fake's API key: Conveyor's bot user (`botUserId`). */
export const FAKE_BOT: FakePlaneUser = Object.freeze({ id: '6d1e0b7c-3f2a-4c5d-9e8f-7a6b5c4d3e2f', first_name: 'Conveyor', last_name: 'Bot', email: 'conveyor@example.com', avatar: '', avatar_url: null, display_name: 'conveyor' });

/** Conveyor's default status names that the fixture's states (Backlog, Todo, In Progress, Done, Cancelled) lack. */
export const CONVEYOR_STATES: readonly { name: string; group: string }[] = [
  { name: 'To Analyse', group: 'unstarted' },
  { name: 'Needs Input', group: 'started' },
  { name: 'In Review', group: 'started' },
  { name: 'Approved', group: 'started' },
  { name: 'Rejected', group: 'started' },
  { name: 'STOP', group: 'cancelled' },
  { name: 'Confirm Deploy', group: 'started' },
  { name: 'Awaiting Deploy', group: 'started' },
  { name: 'Deploying', group: 'started' },
  { name: 'Monitoring after Deploy', group: 'started' },
];

/**
 * The path of one of this package's fixture files (`fixtures/plane-*.json`, copied
 * byte for byte from the shared fixtures), from compiled (`dist/src/testing`) or
 * source (`src/testing`) code.
 */
export function planeFixturePath(name: string): string {
  for (const rel of ['../../../fixtures/', '../../fixtures/']) {
    const p = fileURLToPath(new URL(rel + name, import.meta.url));
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`fixture ${name} not found next to @conveyor/plugin-tracker-plane`);
}

/** A fixture's exact bytes. */
export function planeFixture(name: string): Buffer {
  return fs.readFileSync(planeFixturePath(name));
}

/** The fixture's states, for `projectId` (fresh ids for any project but the fixture's). */
export function seedStates(projectId: string): FakeState[] {
  const list = JSON.parse(planeFixture('plane-states-list.json').toString('utf8')) as { results: { id: string; name: string; color: string; group: string; sequence: number }[] };
  return list.results.map((s) => ({ id: projectId === FAKE_PROJECT_ID ? s.id : randomUUID(), name: s.name, color: s.color, group: s.group, sequence: s.sequence, project: projectId }));
}

let lastMicros = 0;
/** Django's timestamp format (microseconds, `Z`), strictly increasing so every change has its own `updated_at`. */
export function planeNow(): string {
  lastMicros = Math.max(Date.now() * 1000, lastMicros + 1);
  const ms = Math.floor(lastMicros / 1000);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${String(lastMicros % 1_000_000).padStart(6, '0')}Z`);
}

const stripTags = (html: string) => html.replace(/<[^>]*>/g, '').trim();

/** `description_json` as Plane's editor stores one paragraph of text. */
function docOf(text: string): unknown {
  return { type: 'doc', content: [text ? { type: 'paragraph', content: [{ type: 'text', text }] } : { type: 'paragraph' }] };
}

/** `IssueSerializer` of the public API (the list and get answers); `state` a UUID unless expanded. */
export function issueForApi(i: FakeIssue, state?: FakeState): Record<string, unknown> {
  return {
    id: i.id, type_id: null, created_at: i.createdAt, updated_at: i.updatedAt, deleted_at: null, point: null, name: i.name,
    description_html: i.descriptionHtml, description_binary: null, priority: i.priority, start_date: null, target_date: null,
    sequence_id: i.sequenceId, sort_order: 65535, completed_at: null, archived_at: null, is_draft: false, external_source: null,
    external_id: null, created_by: i.createdBy, updated_by: i.updatedBy, project: i.project, workspace: FAKE_WORKSPACE_ID, parent: null,
    state: state ? { id: state.id, name: state.name, color: state.color, group: state.group } : i.state,
    estimate_point: null, type: null, assignees: [], labels: [],
  };
}

/** `IssueExpandSerializer`: the `data` of an issue webhook, in the fixture's key order. */
export function issueForWebhook(i: FakeIssue, state: FakeState): Record<string, unknown> {
  const text = stripTags(i.descriptionHtml);
  const doc = docOf(text);
  return {
    id: i.id, labels: [], assignees: [], state: { id: state.id, name: state.name, color: state.color, group: state.group }, description: doc,
    created_at: i.createdAt, updated_at: i.updatedAt, deleted_at: null, point: null, name: i.name, description_json: doc,
    description_html: i.descriptionHtml, description_stripped: text, description_binary: null, priority: i.priority, start_date: null,
    target_date: null, sequence_id: i.sequenceId, sort_order: 65535, completed_at: null, archived_at: null, is_draft: false,
    external_source: null, external_id: null, created_by: i.createdBy, updated_by: i.updatedBy, project: i.project,
    workspace: FAKE_WORKSPACE_ID, parent: null, estimate_point: null, type: null,
  };
}

/** `StateSerializer`, as the states list answers. */
export function stateForApi(s: FakeState): Record<string, unknown> {
  return {
    id: s.id, created_at: '2026-04-02T10:00:00.000000Z', updated_at: '2026-04-02T10:00:00.000000Z', deleted_at: null, name: s.name,
    description: '', color: s.color, slug: '', sequence: s.sequence, group: s.group, is_triage: false, default: s.group === 'backlog',
    external_source: null, external_id: null, created_by: FAKE_HUMAN.id, updated_by: null, project: s.project, workspace: FAKE_WORKSPACE_ID,
  };
}

/** `IssueCommentSerializer`: the 201 of `POST …/comments/` and the `data` of an `issue_comment` webhook. */
export function commentForApi(c: FakeComment): Record<string, unknown> {
  return {
    id: c.id, created_at: c.createdAt, updated_at: c.createdAt, deleted_at: null, comment_stripped: stripTags(c.commentHtml), comment_html: c.commentHtml,
    attachments: [], access: 'INTERNAL', external_source: c.externalSource ?? null, external_id: c.externalId ?? null, edited_at: null, created_by: c.actor, updated_by: null,
    project: c.project, workspace: FAKE_WORKSPACE_ID, issue: c.issue, actor: c.actor,
  };
}
