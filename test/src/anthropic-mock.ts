import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What one stage's agent writes: its artefact's front matter, and more files (the developer's code). */
export interface MockScript {
  frontMatter(stage: string): Record<string, string>;
  extraFiles?(stage: string): Record<string, string>;
}

/** One request the mock answered. */
export interface MockRequest {
  model: string;
  stage: string | null;
  /** `tool_use` (first turn: write the files) or `end_turn` (after the tool results). */
  answer: 'tool_use' | 'end_turn';
}

/**
 * A stand-in for the Anthropic Messages API on 127.0.0.1, for the real Claude Code
 * CLI (`ANTHROPIC_BASE_URL`). It answers `POST /v1/messages` with a streamed (SSE)
 * message, like the API: on the first turn a `Write` tool use of the stage's
 * artefact (found in the prompt: "Write … to docs/pipeline/…") under the CLI's
 * working directory (from its system prompt); once the tool results are back, a
 * short text that ends the turn. Usage is reported, so the CLI prices the run.
 */
export class AnthropicMock {
  readonly requests: MockRequest[] = [];
  readonly #server: http.Server;

  private constructor(private readonly script: MockScript) {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
  }

  static async start(script: MockScript): Promise<AnthropicMock> {
    const mock = new AnthropicMock(script);
    await new Promise<void>((resolve) => mock.#server.listen(0, '127.0.0.1', resolve));
    return mock;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages') || req.url.startsWith('/v1/messages/')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `no ${req.method} ${req.url}` } }));
      return;
    }
    const body = JSON.parse(raw) as { model: string; system?: unknown; messages: { role: string; content: unknown }[] };
    const text = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) ? v.map((b: { text?: string }) => b.text ?? '').join('\n') : '');
    const prompt = body.messages.filter((m) => m.role === 'user').map((m) => text(m.content)).join('\n');
    // The CLI states its cwd in its environment section (a system message, in 2.1.3xx).
    const everything = [text(body.system), ...body.messages.map((m) => text(m.content))].join('\n');
    const cwd = /Primary working directory: (.+)$/m.exec(everything)?.[1]?.trim() ?? null;
    const artifact = /rite [^\n]*? to (docs\/pipeline\/\S+?\.md)/.exec(prompt)?.[1] ?? null;
    const stage = artifact ? (/\d\d-([a-z-]+)\.md$/.exec(artifact)?.[1] ?? null) : null;
    // The tool results come back in a user message after the assistant's tool use (a
    // system reminder may follow them): any tool result at all means the files are written.
    const toolResultsBack = body.messages.some((m) => Array.isArray(m.content) && m.content.some((b: { type?: string }) => b.type === 'tool_result'));
    const answer = toolResultsBack || !artifact || !cwd || !stage ? 'end_turn' : 'tool_use';
    this.requests.push({ model: body.model, stage, answer });

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('message_start', { type: 'message_start', message: { id: `msg_${this.requests.length}`, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1200, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 } } });
    if (answer === 'tool_use') {
      const fm = Object.entries(this.script.frontMatter(stage!)).map(([k, v]) => `${k}: ${v}\n`).join('');
      const files: Record<string, string> = { ...(this.script.extraFiles?.(stage!) ?? {}), [artifact!]: `---\n${fm}---\n\n# ${stage}\n\nWritten by the mock model.\n` };
      Object.entries(files).forEach(([file, content], index) => {
        send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: `toolu_${this.requests.length}_${index}`, name: 'Write', input: {} } });
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify({ file_path: `${cwd}/${file}`, content }) } });
        send('content_block_stop', { type: 'content_block_stop', index });
      });
      send('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 180 } });
    } else {
      send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `Done: ${stage ?? 'nothing to do'}.` } });
      send('content_block_stop', { type: 'content_block_stop', index: 0 });
      send('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 12 } });
    }
    send('message_stop', { type: 'message_stop' });
    res.end();
  }
}
