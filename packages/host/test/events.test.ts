import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import 'reflect-metadata';
import { EventBus, type Task } from '@conveyor/core';
import { eventually, RecordingLogger, testDatabases } from '@conveyor/core/testing';
import { EventJournal } from '../src/server/index.js';
import { AUTH, startHost, type Host } from './helpers.js';

interface Frame {
  id: string | null;
  event: string;
  data: string;
}

/** A raw SSE client over a real socket: what it received, parsed, and a way to hang up. */
function subscribe(t: TestContext, base: string, headers: Record<string, string> = {}): Promise<{ status: number; frames: Frame[]; close(): void; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/events`, { headers }, (res) => {
      const frames: Frame[] = [];
      let buffer = '';
      const ended = new Promise<void>((done) => res.on('close', () => done()));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const f: Frame = { id: null, event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) f.id = line.slice(4);
            else if (line.startsWith('event: ')) f.event = line.slice(7);
            else if (line.startsWith('data: ')) f.data = line.slice(6);
          }
          if (f.event !== 'message' || f.data) frames.push(f);
        }
      });
      const close = () => req.destroy();
      t.after(close);
      resolve({ status: res.statusCode ?? 0, frames, close, ended });
    });
    req.on('error', reject);
  });
}

async function listen(host: Host): Promise<string> {
  await host.app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(host.app.server.address() as AddressInfo).port}`;
}

for (const dialect of testDatabases()) {
  test(`[${dialect}] GET /events streams task and job events, as summaries, behind the read token`, async (t) => {
    const host = await startHost(t, { dialect }, { readAuth: 'token' });
    const base = await listen(host);
    const refused = await subscribe(t, base);
    assert.equal(refused.status, 401);
    const head = await host.app.inject({ method: 'HEAD', url: '/events', headers: AUTH });
    assert.equal(head.statusCode, 200, 'HEAD answers the headers and ends');
    assert.match(head.headers['content-type'] as string, /^text\/event-stream/);
    const stream = await subscribe(t, base, AUTH);
    assert.equal(stream.status, 200);
    const { task } = await host.kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: '1', title: 'Secret title', description: 'secret text' });
    const created = (await eventually(() => stream.frames.find((f) => f.event === 'task.created'), 5_000, 'task.created on the stream'))!;
    assert.deepEqual(JSON.parse(created.data), { taskId: task.id, repo: 'acme/app', workItemId: task.workItemId, stage: task.stage });
    await eventually(() => stream.frames.some((f) => f.event === 'job.enqueued'), 5_000, 'job.enqueued on the stream');
    assert.ok(!stream.frames.some((f) => f.data.includes('secret') || f.data.includes('Secret')), 'no title or description on the stream');
    assert.match(created.id ?? '', /^[0-9a-f]+-\d+$/);
  });

  test(`[${dialect}] GET /events resumes from Last-Event-ID, and says reset when it cannot`, async (t) => {
    const host = await startHost(t, { dialect });
    const base = await listen(host);
    const first = await subscribe(t, base);
    await host.kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: '1', title: 'one' });
    const seen = (await eventually(() => first.frames.findLast((f) => f.event === 'job.enqueued'), 5_000, 'the first task on the stream'))!;
    first.close();
    const { task: second } = await host.kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: '2', title: 'two' });

    const resumed = await subscribe(t, base, { 'last-event-id': seen.id! });
    const missed = (await eventually(() => resumed.frames.find((f) => f.event === 'task.created'), 5_000, 'the missed task.created replayed'))!;
    assert.equal(JSON.parse(missed.data).taskId, second.id);
    assert.equal(resumed.frames.filter((f) => f.event === 'task.created').length, 1, 'only what came after the id');
    assert.ok(!resumed.frames.some((f) => f.event === 'reset'));

    for (const stale of ['0badc0de-1', 'not an id', `${seen.id!.split('-')[0]}-999999`]) {
      const s = await subscribe(t, base, { 'last-event-id': stale });
      const reset = (await eventually(() => s.frames.find((f) => f.event === 'reset'), 5_000, `reset for ${stale}`))!;
      assert.match(JSON.parse(reset.data).reason, /re-read/);
      s.close();
    }
  });

  test(`[${dialect}] closing the server ends the open event streams`, async (t) => {
    const host = await startHost(t, { dialect });
    const base = await listen(host);
    const stream = await subscribe(t, base);
    assert.equal(stream.status, 200);
    await host.app.close();
    await stream.ended;
  });
}

test('the journal keeps a bounded window: an id older than it, or of another epoch, is a reset', () => {
  const bus = new EventBus(new RecordingLogger());
  const journal = new EventJournal(bus, 3);
  const task = { id: 1, repo: 'r', workItemId: 'ET-001', stage: 'analysis' } as Task;
  for (let i = 0; i < 5; i++) bus.emit('task.done', { task });
  const id = (seq: number) => `${journal.epoch}-${seq}`;
  assert.deepEqual(journal.since(id(5)), []);
  assert.deepEqual(journal.since(id(2))?.map((e) => e.seq), [3, 4, 5]);
  assert.equal(journal.since(id(1)), null, 'event 2 is gone: the client cannot be caught up');
  assert.equal(journal.since(id(6)), null, 'not issued yet');
  assert.equal(journal.since(`ffffffff-3`), journal.epoch === 'ffffffff' ? journal.since(id(3)) : null);
  journal.close();
  assert.equal(bus.listenerCount(), 0, 'close removes its listeners');
});
