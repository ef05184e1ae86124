import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, type ConfigIssue } from '@conveyor/core';

/** One Plane project Conveyor serves. */
export const PlaneProjectSchema = Type.Object(
  {
    repo: Type.String({ minLength: 1, description: 'The Conveyor repo (a key of `repos`) whose tasks this project\'s work items become; its work item prefix is `repos.<repo>.workItemPrefix`.' }),
  },
  { additionalProperties: false },
);

/**
 * Config section `plugins.tracker-plane` (besides `enabled` and `repos`). The four
 * connection keys are optional in the schema so that a disabled section validates
 * without them; `planeSettings` requires them when the plugin is enabled.
 */
export const trackerPlaneConfigSchema = Type.Object({
  baseUrl: Type.Optional(Type.String({ minLength: 1, description: 'Plane\'s base URL, e.g. `https://plane.example.com` (required).' })),
  workspaceSlug: Type.Optional(Type.String({ minLength: 1, description: 'The workspace slug from Plane\'s URLs, `https://plane.example.com/<slug>/…` (required).' })),
  apiKey: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'Plane API token of Conveyor\'s bot user, sent as `X-API-Key` (required; secret: `${PLANE_API_KEY}` or CONVEYOR_PLUGINS_TRACKER_PLANE_API_KEY).' })),
  webhookSecret: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'The secret Plane shows for the webhook (`plane_wh_…`), to verify `X-Plane-Signature` (required; secret: `${PLANE_WEBHOOK_SECRET}` or CONVEYOR_PLUGINS_TRACKER_PLANE_WEBHOOK_SECRET).' })),
  botUserId: Type.Optional(Type.String({ minLength: 1, description: 'Plane user id of the API token\'s owner: deliveries whose actor it is are Conveyor\'s own changes and are ignored. Unset: nothing is filtered (Conveyor\'s own status changes come back as intake events).' })),
  projects: Type.Record(Type.String({ minLength: 1 }), PlaneProjectSchema, {
    default: {},
    description: 'Plane project id → `{ repo }`. Deliveries from other projects are ignored; each repo maps to at most one project.',
  }),
  statusNames: Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
    default: {},
    description: 'Conveyor status name → Plane state name, where they differ. Unlisted names are the same in both (the default: `statuses.*` are Plane state names).',
  }),
  requestTimeoutMs: Type.Integer({ minimum: 1, default: 15_000, description: 'Longest wait for one Plane API answer.' }),
});

/** The validated section, as the plugin reads it. */
export type TrackerPlaneConfig = Static<typeof trackerPlaneConfigSchema>;

/** A project's mapping, as the tracker and the webhook route use it. */
export interface PlaneProject {
  repo: string;
}

/** The section with its required keys checked. */
export interface PlaneSettings {
  baseUrl: string;
  workspaceSlug: string;
  apiKey: string;
  webhookSecret: string;
  botUserId: string | null;
  projects: Readonly<Record<string, PlaneProject>>;
  statusNames: Readonly<Record<string, string>>;
  requestTimeoutMs: number;
}

const PATH = 'plugins.tracker-plane';

/**
 * Checks what the schema cannot: the connection keys are present, the base URL is
 * http(s), no repo is served by two projects (Conveyor names an issue by repo, so the
 * project must follow from it), and no two Conveyor names map to one Plane state (an
 * inbound state could not be read back). Throws core's `ConfigError` listing every problem.
 */
export function planeSettings(c: TrackerPlaneConfig): PlaneSettings {
  const issues: ConfigIssue[] = [];
  const need = (key: 'baseUrl' | 'workspaceSlug' | 'apiKey' | 'webhookSecret', env: string, secret = false): string => {
    const v = c[key];
    if (!v) issues.push({ path: `${PATH}.${key}`, expected: secret ? `a \${ENV_NAME} reference or ${env} (the plugin is enabled)` : `a non-empty string (the plugin is enabled; or ${env})`, found: 'nothing' });
    return v ?? '';
  };
  const baseUrl = need('baseUrl', 'CONVEYOR_PLUGINS_TRACKER_PLANE_BASE_URL');
  const workspaceSlug = need('workspaceSlug', 'CONVEYOR_PLUGINS_TRACKER_PLANE_WORKSPACE_SLUG');
  const apiKey = need('apiKey', 'CONVEYOR_PLUGINS_TRACKER_PLANE_API_KEY', true);
  const webhookSecret = need('webhookSecret', 'CONVEYOR_PLUGINS_TRACKER_PLANE_WEBHOOK_SECRET', true);
  if (baseUrl && !/^https?:\/\/[^/\s]+/i.test(baseUrl)) issues.push({ path: `${PATH}.baseUrl`, expected: 'an http:// or https:// URL', found: JSON.stringify(baseUrl) });
  const byRepo = new Map<string, string>();
  for (const [projectId, p] of Object.entries(c.projects)) {
    const other = byRepo.get(p.repo);
    if (other) issues.push({ path: `${PATH}.projects.${projectId}.repo`, expected: `a repo no other project serves (project ${other} already maps to it)`, found: JSON.stringify(p.repo) });
    byRepo.set(p.repo, projectId);
  }
  const byPlaneName = new Map<string, string>();
  for (const [conveyorName, planeName] of Object.entries(c.statusNames)) {
    const key = planeName.trim().toLowerCase();
    const other = byPlaneName.get(key);
    if (other) issues.push({ path: `${PATH}.statusNames.${conveyorName}`, expected: `a Plane state no other status maps to ("${other}" already maps to it)`, found: JSON.stringify(planeName) });
    byPlaneName.set(key, conveyorName);
  }
  if (issues.length) throw new ConfigError(issues);
  return {
    baseUrl,
    workspaceSlug,
    apiKey,
    webhookSecret,
    botUserId: c.botUserId ?? null,
    projects: c.projects,
    statusNames: c.statusNames,
    requestTimeoutMs: c.requestTimeoutMs,
  };
}
