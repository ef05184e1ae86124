/** A Bot API error: `error_code` and `description` as Telegram sent them. */
export class TelegramError extends Error {
  readonly code = 'TELEGRAM_API_ERROR';

  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly retryAfter: number | null = null,
  ) {
    super(`Telegram ${errorCode}: ${description}`);
    this.name = 'TelegramError';
  }
}

export interface TelegramClientOptions {
  baseUrl: string;
  token: string;
  maxRetryAfterMs: number;
  timeoutMs: number;
  /** Injected in tests (a fake server needs none; a recorded one would). */
  fetch?: typeof fetch;
  /** How a 429 waits; injected in tests so `retry_after: 35` takes no 35 s. */
  sleep?: (ms: number) => Promise<void>;
}

const NOT_MODIFIED = /message is not modified/i;

/**
 * The two Bot API calls the tracker needs. "message is not modified" is success
 * (the text is already what we want); a 429 waits `retry_after` once, when that is
 * within `maxRetryAfterMs`, and gives up otherwise. The token never appears in errors.
 */
export class TelegramClient {
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: TelegramClientOptions) {
    this.#fetch = o.fetch ?? fetch;
    this.#sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Sends a message; returns its id. */
  async sendMessage(chatId: string, text: string, options: { silent: boolean }): Promise<string> {
    const result = (await this.#call('sendMessage', { chat_id: chatId, text, disable_notification: options.silent, link_preview_options: { is_disabled: true } })) as { message_id?: unknown };
    return String(result.message_id);
  }

  /** Edits a message's text; `unchanged` when Telegram says it is already that text. */
  async editMessageText(chatId: string, messageId: string, text: string): Promise<'edited' | 'unchanged'> {
    try {
      await this.#call('editMessageText', { chat_id: chatId, message_id: Number(messageId), text, link_preview_options: { is_disabled: true } });
      return 'edited';
    } catch (err) {
      if (err instanceof TelegramError && err.errorCode === 400 && NOT_MODIFIED.test(err.description)) return 'unchanged';
      throw err;
    }
  }

  async #call(method: string, body: Record<string, unknown>, retried = false): Promise<unknown> {
    const res = await this.#fetch(`${this.o.baseUrl.replace(/\/+$/, '')}/bot${this.o.token}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.o.timeoutMs),
    });
    const text = await res.text();
    let env: { ok?: boolean; result?: unknown; error_code?: number; description?: string; parameters?: { retry_after?: number } };
    try {
      env = JSON.parse(text) as typeof env;
    } catch {
      throw new TelegramError(res.status, `not a Bot API answer (HTTP ${res.status}): ${text.slice(0, 200)}`);
    }
    if (env.ok === true) return env.result;
    const code = env.error_code ?? res.status;
    const retryAfter = env.parameters?.retry_after ?? (Number(res.headers.get('retry-after')) || null);
    if (code === 429 && retryAfter !== null && !retried && retryAfter * 1000 <= this.o.maxRetryAfterMs) {
      await this.#sleep(retryAfter * 1000);
      return this.#call(method, body, true);
    }
    throw new TelegramError(code, env.description ?? `HTTP ${res.status}`, retryAfter);
  }
}
