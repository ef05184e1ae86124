import type { FastifyInstance } from 'fastify';
import type { Conveyor } from '@conveyor/core';
import { EventJournal, type StreamedEvent } from '../event-journal.js';
import { sendError } from '../http-errors.js';
import { accessOptions, type RouteGuards } from '../route-access.js';

/** Bytes a slow client may leave unread before its stream is ended (it reconnects with `Last-Event-ID` and catches up). */
export const EVENT_STREAM_BACKLOG_BYTES = 256 * 1024;
/** Streams one host serves at once; one more is a 503. */
export const MAX_EVENT_STREAMS = 64;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

const frame = (e: StreamedEvent): string => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;

/**
 * `GET /events`: the instance's task and job events as server-sent events. A client
 * that reconnects with `Last-Event-ID` gets what it missed; when that cannot be
 * told (the host restarted, or more happened than the journal keeps) it gets one
 * `reset` event and should re-read what it shows. Access: read, like `GET /tasks`.
 */
export function registerEventsRoute(app: FastifyInstance, conveyor: Conveyor, guards: RouteGuards): void {
  const journal = new EventJournal(conveyor.events);
  const open = new Set<() => void>();
  // Open streams never end by themselves: close them before the server waits for its connections.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  app.addHook('onClose', async () => journal.close());

  app.get('/events', accessOptions('read', guards), async (request, reply) => {
    // HEAD: the headers a stream would get, and no stream (nothing would ever end it).
    if (request.method === 'HEAD') return reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-store').send();
    if (open.size >= MAX_EVENT_STREAMS) return sendError(reply, 503, `this host already serves ${MAX_EVENT_STREAMS} event streams; close one and retry`);
    const header = request.headers['last-event-id'];
    const lastId = Array.isArray(header) ? header[0] : header;
    const missed = lastId ? journal.since(lastId) : [];
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      unsubscribe();
      clearInterval(keepalive);
      open.delete(end);
      res.end();
    };
    const write = (text: string): void => {
      if (ended) return;
      res.write(text);
      // A client that does not read must not grow the host's memory: end it; it resumes from its last id.
      if (res.writableLength > EVENT_STREAM_BACKLOG_BYTES) {
        request.log.info({ backlog: res.writableLength }, 'event stream client too slow: stream ended');
        end();
      }
    };
    const unsubscribe = journal.subscribe((e) => write(frame(e)));
    const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    open.add(end);
    res.on('close', end);
    write(`retry: 2000\n: conveyor events, epoch ${journal.epoch}\n\n`);
    if (missed === null) write(`event: reset\ndata: ${JSON.stringify({ reason: 'the events since your last id are not kept here: re-read what you show' })}\n\n`);
    else for (const e of missed) write(frame(e));
  });
}
