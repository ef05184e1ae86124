import fs from 'node:fs';
import path from 'node:path';
import type { ConveyorConfig } from '@conveyor/core';
import { cliCommand } from './invocation.js';
import { clientUrl, HOST_FILE, readHostFile, TOKEN_FILE } from '../server/index.js';

/** A small client of the local host's HTTP API, with the bearer token the host keeps. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | null,
    private readonly fetchImpl: typeof fetch = fetch,
    /** Where the URL and the token were looked for, for error messages. */
    private readonly from: { origin: string; tokenFile: string } = { origin: 'the caller', tokenFile: 'host.token' },
  ) {}

  /**
   * From the host config: `--url`, else the running host's address in
   * `<dataDir>/host.json`, else `host.address` and `host.port`; the token from
   * `host.token` or `<dataDir>/token`. Failures name where the address came from.
   */
  static fromConfig(config: ConveyorConfig, override: { url?: string; file?: string | null } = {}): ApiClient {
    const { dataDir } = config.instance;
    const running = readHostFile(dataDir);
    const [url, origin] = override.url
      ? [override.url, '--url']
      : running
        ? [running.url, path.join(dataDir, HOST_FILE)]
        : [clientUrl(config.host.address, config.host.port), `host.address and host.port of ${override.file ?? 'the embedded default'}; no running host recorded in ${path.join(dataDir, HOST_FILE)}`];
    let token = config.host.token ?? null;
    const file = path.join(dataDir, TOKEN_FILE);
    if (!token && fs.existsSync(file)) token = fs.readFileSync(file, 'utf8').trim();
    return new ApiClient(url.replace(/\/$/, ''), token, fetch, { origin, tokenFile: file });
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
      throw new Error(`cannot reach the Conveyor host at ${this.baseUrl} (from ${this.from.origin}): ${(err as Error).message}; is \`${cliCommand()} start\` running?`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // keep the text
    }
    if (res.status === 401 && !this.token) throw new Error(`the host wants a token and there is none at ${this.from.tokenFile}: start it once with \`${cliCommand()} start\` so it writes that file, or set host.token`);
    return { status: res.status, body: parsed as T };
  }
}
