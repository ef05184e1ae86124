import net from 'node:net';
import { cliCommand } from './invocation.js';

/** Thrown when the host's port cannot be bound; its message is the hint the CLI prints. */
export class PortUnavailableError extends Error {
  readonly code = 'CONVEYOR_PORT_UNAVAILABLE';
}

/**
 * Binds `host:port` for a moment and lets it go. `conveyor start` calls it before the
 * migrations and the worker: a port in use used to surface only after both had run,
 * with the worker already claiming jobs. Port 0 (any free port) is not probed.
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new PortUnavailableError(`port ${port} on ${host} is in use: another Conveyor host may already be running there (\`${cliCommand()} task list\` talks to it), or pick a free port with --port <n> or host.port`, { cause: err }));
      } else if (err.code === 'EACCES') {
        reject(new PortUnavailableError(`port ${port} on ${host} needs privileges this user does not have: pick a port above 1023 with --port <n> or host.port`, { cause: err }));
      } else if (err.code === 'EADDRNOTAVAIL') {
        reject(new PortUnavailableError(`address ${host} is not an address of this machine: check host.address`, { cause: err }));
      } else reject(err);
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
