import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { runHealthCheck } from '../src/index.js';
import { healthServer } from './health-server.js';

const opts = (timeoutMs = 2_000) => ({ timeoutMs, cwd: os.tmpdir(), passEnv: [], signal: new AbortController().signal, fetch: globalThis.fetch });

test('a URL check: 2xx is healthy; another status, a refused connection or no answer in time is not', async (t) => {
  const server = await healthServer(200);
  t.after(() => server.close());
  assert.deepEqual(await runHealthCheck({ url: server.url }, opts()), { healthy: true, detail: 'HTTP 200' });
  server.status = 503;
  assert.deepEqual(await runHealthCheck({ url: server.url }, opts()), { healthy: false, detail: 'HTTP 503' });
  server.status = 302;
  assert.deepEqual(await runHealthCheck({ url: server.url }, opts()), { healthy: false, detail: 'HTTP 302' }, 'a redirect is not followed: the health URL itself must answer');
  server.hang = true;
  assert.deepEqual(await runHealthCheck({ url: server.url }, opts(200)), { healthy: false, detail: 'timed out after 200 ms' });
  const refused = await runHealthCheck({ url: 'http://127.0.0.1:9/health' }, opts());
  assert.equal(refused.healthy, false);
  assert.match(refused.detail, /^request failed: /);
});

test('a command check: exit 0 is healthy; a failing exit says its code and output; a hung command is killed at the limit', async () => {
  assert.deepEqual(await runHealthCheck({ command: 'exit 0' }, opts()), { healthy: true, detail: 'exit 0' });
  assert.deepEqual(await runHealthCheck({ command: 'echo "service down" >&2; exit 3' }, opts()), { healthy: false, detail: 'exit 3: service down' });
  assert.deepEqual(await runHealthCheck({ command: 'sleep 30' }, opts(300)), { healthy: false, detail: 'timed out after 300 ms' });
});
