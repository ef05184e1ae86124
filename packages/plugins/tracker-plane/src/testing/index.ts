/**
 * Test helpers of the Plane tracker, for this package's tests and for other
 * packages' end-to-end tests: a fake Plane server (REST API + signed webhooks)
 * and Python-`json.dumps` serialisation. Import from
 * `@conveyor/plugin-tracker-plane/testing`; needs `fastify` (a dev dependency).
 */
export * from './fake-plane.js';
export * from './fake-plane-model.js';
export * from './fake-plane-webhooks.js';
export * from './python-json.js';
