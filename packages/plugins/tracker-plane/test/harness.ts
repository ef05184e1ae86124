import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { CoreTokens, createConveyor, type Conveyor, type ConveyorPlugin, type OwnedRoute } from '@conveyor/core';
import { FakeAgentRunner, FakeForge, InMemoryArtifactReader, RecordingLogger, RecordingNotifier, TempWorkspace } from '@conveyor/core/testing';
import { PLANE_WEBHOOK_PATH, trackerPlanePlugin } from '../src/index.js';
import type { FakePlane } from '../src/testing/index.js';

export const REPO = 'acme/app';

export interface PlaneKit {
  conveyor: Conveyor;
  logger: RecordingLogger;
  route: OwnedRoute;
  /** Where the fake Plane should send webhooks (a listener that hands them to the route). */
  webhookUrl: string;
  inboxRows(): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

/**
 * An instance with this plugin pointed at a fake Plane, on a throwaway SQLite file.
 * Built on `createConveyor` rather than core's `createTestConveyor` because the
 * plugin's secrets may only come from the environment and the test kit passes
 * no environment of the test's choosing (only the PostgreSQL URL).
 */
export async function planeKit(plane: FakePlane, section: Record<string, unknown> = {}, others: ConveyorPlugin[] = []): Promise<PlaneKit> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-plane-'));
  const logger = new RecordingLogger();
  const artifacts = new InMemoryArtifactReader();
  const workspace = new TempWorkspace();
  const conveyor = await createConveyor({
    config: {
      instance: { dataDir: dir },
      database: { client: 'sqlite', filename: path.join(dir, 'conveyor.db') },
      worker: { enabled: false },
      repos: { [REPO]: {} },
      plugins: {
        'tracker-plane': {
          enabled: true,
          baseUrl: plane.url,
          workspaceSlug: plane.workspaceSlug,
          apiKey: '${PLANE_API_KEY}',
          webhookSecret: '${PLANE_WEBHOOK_SECRET}',
          botUserId: plane.bot.id,
          projects: { [plane.projectId]: { repo: REPO } },
          ...section,
        },
      },
    },
    plugins: [trackerPlanePlugin, ...others],
    logger,
    env: { PLANE_API_KEY: plane.apiKey, PLANE_WEBHOOK_SECRET: plane.webhookSecret },
    bindings: (c) => {
      c.register(CoreTokens.AgentRunner, { useValue: new FakeAgentRunner(undefined, artifacts) });
      c.register(CoreTokens.ArtifactReader, { useValue: artifacts });
      c.register(CoreTokens.Forge, { useValue: new FakeForge() });
      c.register(CoreTokens.Notifier, { useValue: new RecordingNotifier() });
      c.register(CoreTokens.Workspace, { useValue: workspace });
    },
  });
  const route = conveyor.routes.find((r) => r.method === 'POST' && r.url === PLANE_WEBHOOK_PATH)!;
  // What the host does for an `auth: 'webhook'` route: the exact bytes, no re-serialising.
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: route.bodyLimit ?? 1_048_576 }, (_req, body, done) => done(null, body));
  app.post(PLANE_WEBHOOK_PATH, async (req, reply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const res = await route.handler({ params: {}, query: {}, headers: req.headers, body: null, rawBody: raw });
    return reply.code(res.status).send(res.body);
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  let cleaned = false;
  return {
    conveyor,
    logger,
    route,
    webhookUrl: `${address}${PLANE_WEBHOOK_PATH}`,
    inboxRows: () => conveyor.db.knex('webhook_inbox').select('*').orderBy('id', 'asc'),
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      await plane.settle();
      await app.close();
      await conveyor.stop();
      workspace.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
