/** What `examples/embedding/embed.mjs --once` prints: a task to merged done, the app's own route, and core's task routes mounted beside it. */
export const EMBEDDING_OUTPUT = {
  task: 'ET-001',
  stage: 'done',
  merged: true,
  hello: { service: 'my-service', conveyorPlugins: ['tracker-local', 'forge-git', 'agent-script'] },
  api: { show: [200, 'done'], missing: [404, 'not_found'] },
};
