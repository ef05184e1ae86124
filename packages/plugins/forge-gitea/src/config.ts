import { Type, type Static } from '@sinclair/typebox';

/** Where a Conveyor repo lives on Gitea. */
export const GiteaRepositorySchema = Type.Object(
  {
    owner: Type.String({ minLength: 1, description: 'User or organisation that owns the repository on Gitea.' }),
    name: Type.String({ minLength: 1, description: 'Repository name on Gitea.' }),
  },
  { additionalProperties: false },
);

/**
 * The plugin's own keys (`plugins.forge-gitea.*`). `baseUrl` and `token` are
 * optional in the schema only so that a host listing this plugin without enabling
 * it still validates; `register` refuses to start without them.
 */
export const forgeGiteaConfigSchema = Type.Object({
  baseUrl: Type.Optional(
    Type.String({ minLength: 1, description: 'Gitea server the API is called on, e.g. `https://gitea.example.com` (required when enabled; no `/api/v1`).' }),
  ),
  publicUrl: Type.Optional(Type.String({ minLength: 1, description: 'Base of the links people open (artefacts in comments); `baseUrl` when unset.' })),
  token: Type.Optional(
    Type.String({ secret: true, minLength: 1, description: 'Access token of Conveyor\'s Gitea user, sent as `Authorization: token <t>` (required when enabled; scopes: repository read/write).' }),
  ),
  webhookSecret: Type.Optional(
    Type.String({ secret: true, minLength: 1, description: 'Secret of the Gitea webhook; deliveries are verified against it. Unset: every delivery is refused (401).' }),
  ),
  repositories: Type.Record(Type.String(), GiteaRepositorySchema, {
    default: {},
    description: 'Conveyor repo name → `{ owner, name }` on Gitea. A repo not listed here must be named `owner/name`.',
  }),
  mergeStyle: Type.Union([Type.Literal('merge'), Type.Literal('rebase'), Type.Literal('squash')], {
    default: 'merge',
    description: 'How pull requests are merged (Gitea\'s `Do`); the repository must allow that style.',
  }),
  requestTimeoutMs: Type.Integer({ minimum: 1, default: 30_000, description: 'Longest wait for one Gitea API call before it fails.' }),
});

/** `plugins.forge-gitea` after validation. */
export type ForgeGiteaConfig = Static<typeof forgeGiteaConfigSchema>;
/** A Gitea repository coordinate. */
export type GiteaRepoRef = Static<typeof GiteaRepositorySchema>;
/** Gitea merge styles Conveyor may use. */
export type GiteaMergeStyle = ForgeGiteaConfig['mergeStyle'];
