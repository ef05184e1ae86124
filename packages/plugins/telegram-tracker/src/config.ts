import { Type, type Static } from '@sinclair/typebox';

/** Config section `plugins.telegram-tracker` (besides `enabled` and `repos`). */
export const telegramConfigSchema = Type.Object({
  botToken: Type.Optional(Type.String({ secret: true, minLength: 1, description: 'The bot\'s token from @BotFather (secret: `${TELEGRAM_BOT_TOKEN}`); required when enabled.' })),
  chatId: Type.Optional(Type.String({ minLength: 1, description: 'Chat the messages go to: a numeric id (`-1001234567890`) or `@channelname`; required when enabled.' })),
  apiBaseUrl: Type.String({ minLength: 1, default: 'https://api.telegram.org', description: 'Bot API base URL (a local Bot API server, or a test fake).' }),
  maxRetryAfterMs: Type.Integer({ minimum: 0, default: 60_000, description: 'Longest wait a 429 `retry_after` may ask for; a longer one gives up on that update (the next transition sends the whole state again).' }),
  requestTimeoutMs: Type.Integer({ minimum: 1, default: 15_000, description: 'Timeout of one Bot API request.' }),
});

export type TelegramConfig = Static<typeof telegramConfigSchema>;
