/** The fault suite's harness; see test/faults/README.md. */
export * from './fault-host.js';
export * from './fault-scenario.js';
export * from './invariants.js';
export * from './people.js';
export * from './scenario-processes.js';
export * from './seeded-random.js';
export * from './webhook-relay.js';
