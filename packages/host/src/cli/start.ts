import { createConveyor } from '@conveyor/core';
import { buildServer, createHostLifecycle, createServerLogger, ensureLocalToken, installSignalHandlers } from '../server/index.js';
import { hostVersion, loadHostConfig } from './host-config.js';
import type { Output } from './output.js';
import { assertPortFree } from './port-probe.js';

/**
 * `conveyor start`: load config → migrate → register plugins → start worker and
 * daemons → listen. SIGINT/SIGTERM stop accepting requests, let running jobs finish
 * up to `host.shutdownGraceMs`, stop daemons and close the database. Jobs left
 * running by a crash are re-queued by the retry path or reaped on the next start.
 */
export async function runStart(opts: { config?: string; port?: number }, io: Output): Promise<number> {
  const hc = loadHostConfig(opts.config ? { config: opts.config } : {});
  const port = opts.port ?? hc.config.host.port;
  // Before migrations and the worker: a busy port must change nothing.
  await assertPortFree(hc.config.host.address, port);
  // Before the database opens, too: an unwritable data directory must leave nothing open.
  const token = hc.config.host.token ?? ensureLocalToken(hc.config.instance.dataDir);
  // One logger for the instance and the server, with the server's full redaction list.
  const logger = createServerLogger({ name: 'conveyor' });
  const conveyor = await createConveyor({ config: hc.raw, plugins: hc.plugins, logger, env: hc.env });
  let server: Awaited<ReturnType<typeof buildServer>>;
  try {
    server = await buildServer({ conveyor, token, logger, version: hostVersion() });
  } catch (err) {
    await conveyor.stop();
    throw err;
  }
  const lifecycle = createHostLifecycle({ server, conveyor, logger, graceMs: conveyor.config.host.shutdownGraceMs });
  const uninstallSignals = installSignalHandlers(lifecycle);
  let address: string;
  try {
    await conveyor.start();
    address = await server.listen({ host: conveyor.config.host.address, port });
  } catch (err) {
    // A port in use must not leave a headless worker running.
    await lifecycle.close('start failed');
    uninstallSignals();
    throw err;
  }
  io.err(`conveyor ${hostVersion()} listening on ${address} (config: ${hc.file ?? 'embedded default'}, plugins: ${conveyor.plugins.join(', ')})`);
  if (!conveyor.config.host.token) io.err(`API token: ${conveyor.config.instance.dataDir}/token (the CLI reads it)`);
  const result = await lifecycle.closed;
  uninstallSignals();
  io.err(`conveyor stopped${result.timedOut ? ' (gave up waiting for running jobs; the next start recovers them)' : ''}`);
  return 0;
}
