import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreTokens, createConveyor, type Conveyor, type OwnedRoute, type RouteRequest } from '@conveyor/core';
import { FakeTracker, RecordingLogger, RecordingNotifier } from '@conveyor/core/testing';
import { forgeGiteaPlugin } from '../src/index.js';
import { FakeGitea, type FakeGiteaOptions } from '../src/testing/index.js';

interface After {
  after(fn: () => unknown): void;
}

/** A fixture of this package (`test/fixtures`, copied byte for byte from what the real service sends), read from compiled tests. */
export function fixture(name: string): Buffer {
  return fs.readFileSync(fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url)));
}

/** SIGNATURES.md §2: the secret and the `X-Gitea-Signature` of each webhook fixture. */
export const FIXTURE_SECRET = 'gitea-whsec-3f9a1c7e';
export const FIXTURES = [
  { file: 'gitea-status-success.json', event: 'status', signature: 'f5f0d542dd308550a034459df1f5e1e072be88602695b73786607ced231c96da' },
  { file: 'gitea-status-failure.json', event: 'status', signature: '957872b93dbc8422610584acba711307da16c927258471db932e007311454b9a' },
  { file: 'gitea-pull-request-merged.json', event: 'pull_request', signature: '22dde3c840e784cf01abb56a58f7209594882fb4d130b0628a2e5121207fdac0' },
  { file: 'gitea-push.json', event: 'push', signature: '2d3d7d1c9f0a2bb748ae78057f85e6f9fdaf7aca174d977b50c55e10f87e4a6a' },
] as const;

/** Headers of a Gitea delivery of `event`, signed with `signature` (node's lower-case names). */
export function giteaHeaders(event: string, signature: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-gitea-delivery': '1b0e8c8e-0c0f-4c1e-9d2a-3f3e6c1d2b4a',
    'x-gitea-event': event,
    'x-gitea-event-type': event,
    'x-gitea-signature': signature,
    'x-hub-signature-256': `sha256=${signature}`,
    ...extra,
  };
}

/** A fake Gitea, closed after the test. */
export async function startFake(t: After, options: FakeGiteaOptions = {}): Promise<FakeGitea> {
  const fake = await FakeGitea.start(options);
  t.after(() => fake.close());
  return fake;
}

/** The route request the host would build: lower-case headers, the parsed body and the exact bytes. */
export function routeRequest(headers: Record<string, string>, body: Buffer): RouteRequest {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    // The host answers 400 itself for bad JSON; the route must cope without a parsed body too.
  }
  return { params: {}, query: {}, headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])), body: parsed, rawBody: body };
}

export interface GiteaKit {
  conveyor: Conveyor;
  logger: RecordingLogger;
  route: OwnedRoute;
  /** Rows of core's webhook inbox. */
  inbox(): Promise<{ source: string; delivery_key: string; payload: string; status: string }[]>;
}

/**
 * An instance with this plugin on a throwaway SQLite file, talking to `fake`.
 * Core's `createTestConveyor` passes no environment, and secrets may only come
 * from it, so this builds the instance itself, with the same fakes for the other ports.
 */
export async function giteaConveyor(t: After, fake: FakeGitea, options: { plugin?: Record<string, unknown>; repos?: Record<string, unknown>; secret?: string | null; token?: string } = {}): Promise<GiteaKit> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-gitea-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const logger = new RecordingLogger();
  const secret = options.secret === undefined ? FIXTURE_SECRET : options.secret;
  const conveyor = await createConveyor({
    config: {
      instance: { dataDir: dir },
      database: { client: 'sqlite', filename: path.join(dir, 'conveyor.db') },
      worker: { enabled: false },
      repos: options.repos ?? { 'acme/orchestrator': { protectedBranches: ['release'] } },
      plugins: {
        'forge-gitea': { enabled: true, baseUrl: fake.url, token: '${GITEA_TOKEN}', ...(secret === null ? {} : { webhookSecret: '${GITEA_WEBHOOK_SECRET}' }), ...options.plugin },
      },
    },
    plugins: [forgeGiteaPlugin],
    logger,
    env: { GITEA_TOKEN: options.token ?? fake.token, ...(secret === null ? {} : { GITEA_WEBHOOK_SECRET: secret }) },
    bindings: (c) => {
      c.register(CoreTokens.Tracker, { useValue: new FakeTracker() });
      c.register(CoreTokens.Notifier, { useValue: new RecordingNotifier() });
    },
  });
  t.after(async () => {
    await conveyor.stop();
    // As core's test kit does: a plugin that leaks a loop or a listener fails its test.
    const leaks = [...conveyor.extensions.daemons.filter((d) => d.daemon.running).map((d) => d.daemon.name), ...(conveyor.events.listenerCount() > 0 ? ['event listeners'] : [])];
    if (leaks.length) throw new Error(`instance leaked after stop(): ${leaks.join(', ')}`);
  });
  const route = conveyor.routes.find((r) => r.method === 'POST' && r.url === '/webhooks/gitea');
  if (!route) throw new Error('POST /webhooks/gitea is not mounted');
  return { conveyor, logger, route, inbox: () => conveyor.db.knex('webhook_inbox').select('*').orderBy('id') };
}
