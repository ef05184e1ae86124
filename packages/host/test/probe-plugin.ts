import { createHmac, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { ConveyorError, CoreTokens, definePlugin, type ConveyorPlugin, type Database, type RouteRequest } from '@conveyor/core';

/** What the probe plugin saw, for assertions. */
export interface ProbeRecorder {
  webhooks: RouteRequest[];
  notesHandled: number;
}

/** The probe webhook's secret: `x-probe-signature` is the hex HMAC-SHA256 of the body with it. */
export const PROBE_SECRET = 'probe-webhook-secret';

/** The `x-probe-signature` header of `body`. */
export function signProbe(body: Buffer | string): Record<string, string> {
  return { 'x-probe-signature': createHmac('sha256', PROBE_SECRET).update(body).digest('hex') };
}

/** Bytes a webhook test sends: odd whitespace and key order, which a re-serialization would lose. */
export const ODD_JSON = Buffer.from('{ "zeta" :1,\n\t"alpha":  [ 3 ,2 ],"ünï":"ç\\u00e9"  ,"a":{ }}\r\n', 'utf8');

/**
 * A plugin with one of each kind of route, a table, a daemon and a snapshot block:
 * enough to see the host mount, guard and report what a plugin contributes.
 */
export function probePlugin(recorder: ProbeRecorder = { webhooks: [], notesHandled: 0 }): ConveyorPlugin {
  return definePlugin({
    name: 'probe',
    migrations: [
      {
        name: 'probe/0001_notes',
        async up(knex) {
          await knex.schema.createTable('probe_notes', (t) => {
            t.increments('id');
            t.string('text').notNullable();
          });
        },
      },
    ],
    register(ctx) {
      const db = () => ctx.container.resolve<Database>(CoreTokens.Database).knex;
      ctx.loop({ name: 'probe-sweeper', intervalMs: 60_000, tick: async () => {} });
      ctx.snapshot(async () => {
        const row = await db()('probe_notes').count<{ n: number | string }[]>({ n: '*' }).first();
        return { notes: Number(row?.n ?? 0) };
      });
      ctx.addRoute({
        method: 'POST',
        url: '/probe/notes',
        auth: 'token',
        bodyLimit: 256,
        description: 'Adds a note.',
        schema: { body: Type.Object({ text: Type.String({ minLength: 1 }), tags: Type.Optional(Type.Array(Type.String())) }) },
        async handler(req) {
          recorder.notesHandled++;
          const [row] = await db()('probe_notes').insert({ text: (req.body as { text: string }).text }).returning('id');
          return { status: 201, body: { id: typeof row === 'object' ? (row as { id: number }).id : row } };
        },
      });
      ctx.addRoute({
        method: 'POST',
        url: '/webhooks/probe',
        auth: 'webhook',
        description: 'A signed webhook.',
        verify(req) {
          const given = req.headers['x-probe-signature'];
          const want = Buffer.from(signProbe(req.rawBody)['x-probe-signature']!, 'hex');
          const ok = typeof given === 'string' && /^[0-9a-f]{64}$/.test(given) && timingSafeEqual(Buffer.from(given, 'hex'), want);
          return ok ? { ok: true } : { ok: false, message: 'bad or missing x-probe-signature' };
        },
        async handler(req) {
          recorder.webhooks.push(req);
          return { status: 202, body: { bytes: req.rawBody?.length ?? null }, headers: { 'x-probe': 'seen' } };
        },
      });
      ctx.addRoute({
        method: 'GET',
        url: '/probe/items/:n',
        auth: 'none',
        schema: { params: Type.Object({ n: Type.Integer({ minimum: 1 }) }), querystring: Type.Object({ verbose: Type.Optional(Type.Boolean()) }) },
        async handler(req) {
          return { status: 200, body: { n: req.params.n, verbose: req.query.verbose ?? false } };
        },
      });
      ctx.addRoute({
        method: 'GET',
        url: '/probe/missing',
        auth: 'none',
        async handler() {
          throw new ConveyorError('CONVEYOR_TASK_NOT_FOUND', 'task 77 does not exist');
        },
      });
      ctx.addRoute({
        method: 'GET',
        url: '/probe/boom',
        auth: 'none',
        async handler() {
          throw new Error('kaboom: password=hunter2');
        },
      });
    },
  });
}
