import type { FastifyInstance } from 'fastify';
import type { Conveyor } from '@conveyor/core';
import { accessOptions, type RouteGuards } from '../route-access.js';

/**
 * `GET /status`: what this host runs — version, host id, enabled plugins, their
 * daemons and routes, the worker, uptime. Read from the instance, never stored.
 */
export function registerStatusRoute(app: FastifyInstance, conveyor: Conveyor, guards: RouteGuards, info: { version: string; startedAt: number }): void {
  app.get('/status', accessOptions('read', guards), async () => ({
    version: info.version,
    hostId: conveyor.hostId,
    database: conveyor.db.dialect,
    uptimeSeconds: Math.floor((Date.now() - info.startedAt) / 1000),
    plugins: [...conveyor.plugins],
    // `running` is optional on the Daemon interface: null means the daemon does not say.
    daemons: conveyor.extensions.daemons.map(({ plugin, daemon }) => ({ plugin, name: daemon.name, running: daemon.running ?? null })),
    worker: { enabled: conveyor.config.worker.enabled, running: conveyor.worker.running, maxConcurrency: conveyor.config.worker.maxConcurrency },
    routes: conveyor.routes.map((r) => ({ plugin: r.plugin, method: r.method, url: r.url, auth: r.auth, description: r.description ?? null })),
  }));
}
