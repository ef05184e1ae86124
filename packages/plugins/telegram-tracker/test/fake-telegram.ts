import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** A fixture of this package (copied byte for byte from what the Bot API sends). */
export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url)), 'utf8')) as Record<string, unknown>;
}

export interface FakeCall {
  method: string;
  body: { chat_id: string; text: string; message_id?: number; disable_notification?: boolean };
}

/**
 * A Bot API on 127.0.0.1 built from the fixtures: `sendMessage` answers the
 * send-ok shape with a fresh `message_id`; `editMessageText` edits a known message,
 * answers the fixture's 400 "message is not modified" for the same text, and 400
 * "message to edit not found" for a deleted one. `failNext` queues a canned error
 * (the 429 fixture with its `Retry-After` header).
 */
export class FakeTelegram {
  readonly calls: FakeCall[] = [];
  readonly messages = new Map<number, string>();
  readonly #queued: { method: string; status: number; body: unknown; headers: Record<string, string> }[] = [];
  #nextId = Number((fixture('telegram-send-ok.json').result as { message_id: number }).message_id);
  readonly #server: http.Server;

  private constructor(readonly token: string) {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
  }

  static async start(token = '123456:TEST-token'): Promise<FakeTelegram> {
    const fake = new FakeTelegram(token);
    await new Promise<void>((r) => fake.#server.listen(0, '127.0.0.1', r));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  failNext(method: string, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.#queued.push({ method, status, body, headers });
  }

  /** Deletes a message, as a person can in the chat. */
  delete(id: number): void {
    this.messages.delete(id);
  }

  of(method: string): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw = '';
    for await (const c of req) raw += String(c);
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (!m || m[1] !== this.token) return void send(404, { ok: false, error_code: 404, description: 'Not Found' });
    const method = m[2]!;
    const body = JSON.parse(raw) as FakeCall['body'];
    this.calls.push({ method, body });
    const queued = this.#queued.findIndex((q) => q.method === method);
    if (queued >= 0) {
      const q = this.#queued.splice(queued, 1)[0]!;
      return void send(q.status, q.body, q.headers);
    }
    const ok = fixture('telegram-send-ok.json') as { ok: true; result: Record<string, unknown> };
    if (method === 'sendMessage') {
      const id = this.#nextId++;
      this.messages.set(id, body.text);
      return void send(200, { ...ok, result: { ...ok.result, message_id: id, text: body.text } });
    }
    if (method === 'editMessageText') {
      const id = Number(body.message_id);
      if (!this.messages.has(id)) return void send(400, { ok: false, error_code: 400, description: 'Bad Request: message to edit not found' });
      if (this.messages.get(id) === body.text) return void send(400, fixture('telegram-edit-not-modified.json'));
      this.messages.set(id, body.text);
      return void send(200, { ...ok, result: { ...ok.result, message_id: id, text: body.text, edit_date: 1779268400 } });
    }
    send(404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
  }
}
