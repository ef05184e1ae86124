import path from 'node:path';
import { createConveyor } from '@conveyor/core';
import { buildServer, clientUrl, createHostLifecycle, createServerLogger, ensureLocalToken, installSignalHandlers, removeHostFile, writeHostFile } from '../server/index.js';
import { hostVersion, loadHostConfig } from './host-config.js';
import type { Output } from './output.js';
import { chooseLogFormat, logDestination } from './log-format.js';
import { assertPortFree } from './port-probe.js';

/**
 * `conveyor start`: load config → migrate → register plugins → start worker and
 * daemons → listen → record the address in `<dataDir>/host.json` for the CLI.
 * SIGINT/SIGTERM stop accepting requests, let running jobs finish up to
 * `host.shutdownGraceMs`, stop daemons and close the database. Jobs left running
 * by a crash are re-queued by the retry path or reaped on the next start.
 */
export async function runStart(opts: { config?: string; port?: number; logFormat?: string }, io: Output): Promise<number> {
  const format = chooseLogFormat(opts.logFormat, process.stdout.isTTY === true);
  const hc = await loadHostConfig(opts.config ? { config: opts.config } : {});
  const port = opts.port ?? hc.config.host.port;
  // Before migrations and the worker: a busy port must change nothing.
  await assertPortFree(hc.config.host.address, port);
  // One logger for the instance and the server, with the server's full redaction list.
  const logger = createServerLogger({ name: 'conveyor' }, logDestination(format, { colorize: format === 'pretty' && process.stdout.isTTY === true }));
  // Before the database opens, too: an unwritable data directory must leave nothing
  // open. `hc.config` is resolved against the config file's directory already.
  const { dataDir } = hc.config.instance;
  const token = hc.config.host.token ?? ensureLocalToken(dataDir, { logger });
  const conveyor = await createConveyor({ config: hc.raw, plugins: hc.plugins, logger, env: hc.env, baseDir: hc.baseDir });
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
  let hostFile: string;
  try {
    await conveyor.start();
    address = await server.listen({ host: conveyor.config.host.address, port });
    // The real port (`-p 0`, `-p 3721`) for `conveyor task …` run anywhere under the config.
    const bound = server.server.address();
    hostFile = writeHostFile(dataDir, { url: clientUrl(conveyor.config.host.address, typeof bound === 'object' && bound ? bound.port : 0), pid: process.pid });
  } catch (err) {
    // A port in use (or an unwritable data dir) must not leave a headless worker running.
    await lifecycle.close('start failed');
    uninstallSignals();
    throw err;
  }
  io.err(`conveyor ${hostVersion()} listening on ${address} (config: ${hc.file ?? 'embedded default'}, plugins: ${conveyor.plugins.join(', ')})`);
  io.err(`data directory: ${dataDir} (address in ${hostFile}${conveyor.config.host.token ? '' : ', API token in token'}; the CLI reads both)`);
  const result = await lifecycle.closed;
  removeHostFile(dataDir);
  uninstallSignals();
  io.err(`conveyor stopped${result.timedOut ? ' (gave up waiting for running jobs; the next start recovers them)' : ''}`);
  return 0;
}
