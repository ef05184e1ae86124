import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { createTestConveyor, type TestConveyor, type TestConveyorOptions } from '@conveyor/core/testing';
import { buildServer, createServerLogger, type ReadAuth } from '../src/server/index.js';

export const TOKEN = 'test-token-0123456789abcdef';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

/** pino lines, parsed, as the server wrote them. */
export type LogRecord = Record<string, unknown> & { level: number; msg?: string };

/** A pino destination that keeps every line in memory. */
export function memoryLog(): { stream: DestinationStream; lines: LogRecord[] } {
  const lines: LogRecord[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(JSON.parse(line) as LogRecord) } };
}

export interface Host {
  app: FastifyInstance;
  kit: TestConveyor;
  logs: LogRecord[];
}

/** A test instance and its server (not listening: `app.inject()`), torn down after the test. */
export async function startHost(t: TestContext, options: TestConveyorOptions = {}, server: { readAuth?: ReadAuth } = {}): Promise<Host> {
  const kit = await createTestConveyor(options);
  const log = memoryLog();
  let app: FastifyInstance;
  try {
    app = await buildServer({ conveyor: kit.conveyor, token: TOKEN, version: '9.9.9-test', logger: createServerLogger({ level: 'debug' }, log.stream), ...server });
  } catch (err) {
    await kit.cleanup();
    throw err;
  }
  t.after(async () => {
    await app.close();
    await kit.cleanup();
  });
  return { app, kit, logs: log.lines };
}

/** Rows in `table`, as a number on both databases. */
export async function countRows(kit: TestConveyor, table: string): Promise<number> {
  const row = await kit.conveyor.db.knex(table).count<{ n: number | string }[]>({ n: '*' }).first();
  return Number(row?.n ?? 0);
}
