import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A service's health endpoint on 127.0.0.1: answers `status` (changeable), counts hits; `hang` never answers. */
export interface HealthServer {
  url: string;
  hits: number;
  status: number;
  hang: boolean;
  close(): Promise<void>;
}

export async function healthServer(status = 200): Promise<HealthServer> {
  const state = { hits: 0, status, hang: false };
  const server = http.createServer((_req, res) => {
    state.hits++;
    if (state.hang) return;
    res.writeHead(state.status, { 'content-type': 'text/plain' }).end(state.status < 300 ? 'ok' : 'down');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/health`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as HealthServer;
}
