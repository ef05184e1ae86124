import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The demo's scripted agent (one script, the role as its argument). */
export const DEMO_AGENT = fileURLToPath(new URL('../../demo/agent.mjs', import.meta.url));

/** The environment variable the default config uses to find the demo agent. */
export const DEMO_AGENT_ENV = 'CONVEYOR_DEMO_AGENT';

/** The starter commit of the demo repository: a package whose tests run with `node --test`. */
export const DEMO_STARTER_FILES: Record<string, string> = {
  'README.md': '# demo\n\nA repository Conveyor works on in the demo.\n',
  'package.json': '{\n  "name": "conveyor-demo",\n  "private": true,\n  "type": "module",\n  "scripts": { "test": "node --test" }\n}\n',
  'smoke.test.js': "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\n\ntest('the demo repository runs its tests', () => assert.ok(true));\n",
};

/**
 * The embedded default as a config object: SQLite, the local tracker, the local
 * git forge with a demo repository created on first start, the demo's scripted
 * agents. Everything lives under `dataDir`.
 */
export function embeddedConfig(options: { dataDir: string; maxConcurrency?: number; autoApprove?: boolean }): Record<string, unknown> {
  const dir = path.resolve(options.dataDir);
  return {
    instance: { dataDir: dir },
    database: { client: 'sqlite', filename: path.join(dir, 'conveyor.db') },
    workspaces: { root: path.join(dir, 'workspaces') },
    worker: { maxConcurrency: options.maxConcurrency ?? 2, pollIntervalMs: 500 },
    repos: { demo: { url: path.join(dir, 'origin', 'demo.git'), testCommand: 'node --test' } },
    plugins: {
      'tracker-local': { defaultRepo: 'demo', autoApprove: options.autoApprove ?? false },
      'forge-git': { initMissing: true, starterFiles: DEMO_STARTER_FILES, logDir: path.join(dir, 'logs') },
      'agent-script': { defaultCommand: `node "${DEMO_AGENT}" "$CONVEYOR_ROLE"`, logDir: path.join(dir, 'logs') },
      'agent-claude': { enabled: false },
      'tracker-plane': { enabled: false },
      'forge-gitea': { enabled: false },
    },
  };
}
