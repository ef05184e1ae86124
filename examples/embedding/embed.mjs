#!/usr/bin/env node
// Embedding Conveyor in your own Node service: your fastify app, your routes, and
// Conveyor's core + plugins composed in code from an object config — no config file,
// no bundled host process. Run it from the repository root after `npm install`:
//
//   node examples/embedding/embed.mjs          # serve on 127.0.0.1:3800 until Ctrl-C
//   node examples/embedding/embed.mjs --once   # file one task, run it to done, print JSON, exit
import 'reflect-metadata';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { createConveyor, createLogger } from '@conveyor/core';
import { DEMO_AGENT, DEMO_STARTER_FILES, mountConveyor } from '@conveyor/host';
import { agentScriptPlugin } from '@conveyor/plugin-agent-script';
import { forgeGitPlugin } from '@conveyor/plugin-forge-git';
import { trackerLocalPlugin } from '@conveyor/plugin-tracker-local';

const once = process.argv.includes('--once');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-embed-'));

// 1. Compose: an object config, validated exactly like a file would be.
const conveyor = await createConveyor({
  logger: createLogger({ level: process.env.CONVEYOR_LOG_LEVEL ?? 'warn' }),
  plugins: [trackerLocalPlugin, forgeGitPlugin, agentScriptPlugin],
  config: {
    instance: { dataDir: dir },
    database: { client: 'sqlite', filename: path.join(dir, 'conveyor.db') },
    workspaces: { root: path.join(dir, 'workspaces') },
    repos: { shop: { url: path.join(dir, 'shop.git'), testCommand: 'node --test' } },
    plugins: {
      'tracker-local': { defaultRepo: 'shop', autoApprove: true },
      'forge-git': { initMissing: true, starterFiles: DEMO_STARTER_FILES, logDir: path.join(dir, 'logs') },
      'agent-script': { defaultCommand: `node "${DEMO_AGENT}" "$CONVEYOR_ROLE"`, logDir: path.join(dir, 'logs') },
    },
  },
});

// 2. Your own server: your routes next to every Conveyor route (core's /health,
//    /status, /queue, /tasks… and the plugins'), with your auth token. Conveyor's
//    parser, validators and error handler stay in their own fastify context.
const token = crypto.randomBytes(24).toString('hex');
const app = Fastify();
app.get('/hello', async () => ({ service: 'my-service', conveyorPlugins: conveyor.plugins }));
// The token guards every route that changes state; mountConveyor enforces the same
// access as `conveyor start` (pass readAuth: 'token' to guard reads too).
await mountConveyor(app, { conveyor, token });

await conveyor.start();

if (once) {
  // 3a. Call intake directly (no HTTP): the same path a webhook takes.
  const { task } = await conveyor.intake.startPipeline({ repo: 'shop', trackerIssueId: 'shop-1', title: 'Add a greeting', trackerSequence: 1 });
  const done = await new Promise((resolve) => {
    conveyor.events.on('task.done', ({ task: t }) => t.id === task.id && resolve(t));
    conveyor.events.on('task.blocked', ({ task: t }) => t.id === task.id && resolve(t));
  });
  const hello = await app.inject({ method: 'GET', url: '/hello' });
  const shown = await app.inject({ method: 'GET', url: `/tasks/${task.id}` });
  const missing = await app.inject({ method: 'GET', url: '/tasks/999' });
  console.log(
    JSON.stringify({
      task: done.workItemId,
      stage: done.stage,
      merged: done.mergedAt !== null,
      hello: hello.json(),
      api: { show: [shown.statusCode, shown.json().task.stage], missing: [missing.statusCode, missing.json().error] },
    }),
  );
  await conveyor.stop();
  await app.close();
  fs.rmSync(dir, { recursive: true, force: true });
} else {
  // 3b. Serve. POST /tasks (with the token) files a task in the local tracker.
  const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3800) });
  console.log(`my-service on ${address}; try: curl -H 'authorization: Bearer ${token}' -H 'content-type: application/json' -d '{"title":"Add a greeting"}' ${address}/tasks`);
  process.once('SIGINT', async () => {
    await app.close();
    await conveyor.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
}
