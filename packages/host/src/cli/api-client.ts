import fs from 'node:fs';
import path from 'node:path';
import type { ConveyorConfig } from '@conveyor/core';
import { cliCommand } from './invocation.js';

/** A small client of the local host's HTTP API, with the bearer token the host keeps. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | null,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** From the host config: its address and port, and `host.token` or `<dataDir>/token`. */
  static fromConfig(config: ConveyorConfig, override: { url?: string } = {}): ApiClient {
    const host = config.host.address === '0.0.0.0' ? '127.0.0.1' : config.host.address;
    const url = override.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.host.port}`;
    let token = config.host.token ?? null;
    const file = path.join(config.instance.dataDir, 'token');
    if (!token && fs.existsSync(file)) token = fs.readFileSync(file, 'utf8').trim();
    return new ApiClient(url.replace(/\/$/, ''), token);
  }

  async request<T = unknown>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${url}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new Error(`cannot reach the Conveyor host at ${this.baseUrl} (${(err as Error).message}); is \`${cliCommand()} start\` running?`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // keep the text
    }
    if (res.status === 401 && !this.token) throw new Error(`the host wants a token: start it once with \`${cliCommand()} start\` so it writes <dataDir>/token, or set host.token`);
    return { status: res.status, body: parsed as T };
  }
}
