/**
 * Test helpers of the Gitea forge, for this package and for anyone testing
 * against Gitea: a fake Gitea server (needs `fastify`, a dev dependency) and
 * Go's JSON encoder. Import from `@conveyor/plugin-forge-gitea/testing`.
 */
export { FakeGitea, type FakeGiteaOptions, type RecordedCall } from './fake-gitea.js';
export { FakeWebhooks, type FakeDelivery, type FakeWebhookTarget } from './fake-webhooks.js';
export { GiteaPayloads } from './gitea-payloads.js';
export { fakeSha, giteaTime, type FakeCommit, type FakePull, type FakeRepo, type FakeStatus, type FakeUser } from './fake-state.js';
export { goMarshalIndent, goString } from './go-json.js';
