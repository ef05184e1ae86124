import { createConveyor } from '@conveyor/core';
import { buildServer, createHostLifecycle, createServerLogger, ensureLocalToken, installSignalHandlers } from '../server/index.js';
import { hostVersion, loadHostConfig } from './host-config.js';
import type { Output } from './output.js';

/**
 * `conveyor start`: load config → migrate → register plugins → start worker and
 * daemons → listen. SIGINT/SIGTERM stop accepting requests, let running jobs finish
 * up to `host.shutdownGraceMs`, stop daemons and close the database. Jobs left
 * running by a crash are re-queued by the retry path or reaped on the next start.
 */
export async function runStart(opts: { config?: string; port?: number }, io: Output): Promise<number> {
  const hc = loadHostConfig(opts.config ? { config: opts.config } : {});
  // One logger for the instance and the server, with the server's full redaction list.
  const logger = createServerLogger({ name: 'conveyor' });
  const conveyor = await createConveyor({ config: hc.raw, plugins: hc.plugins, logger, env: hc.env });
  const token = conveyor.config.host.token ?? ensureLocalToken(conveyor.config.instance.dataDir, { logger });
  const server = await buildServer({ conveyor, token, logger, version: hostVersion() });
  const lifecycle = createHostLifecycle({ server, conveyor, logger, graceMs: conveyor.config.host.shutdownGraceMs });
  installSignalHandlers(lifecycle);
  let address: string;
  try {
    await conveyor.start();
    address = await server.listen({ host: conveyor.config.host.address, port: opts.port ?? conveyor.config.host.port });
  } catch (err) {
    // A port in use must not leave a headless worker running.
    await lifecycle.close('start failed');
    throw err;
  }
  io.err(`conveyor ${hostVersion()} listening on ${address} (config: ${hc.file ?? 'embedded default'}, plugins: ${conveyor.plugins.join(', ')})`);
  if (!conveyor.config.host.token) io.err(`API token: ${conveyor.config.instance.dataDir}/token (the CLI reads it)`);
  const result = await lifecycle.closed;
  io.err(`conveyor stopped${result.timedOut ? ' (gave up waiting for running jobs; the next start recovers them)' : ''}`);
  return 0;
}
