#!/usr/bin/env node
// One B3 worker process: `node pg-queue-worker.mjs <conveyor|graphile> <pg-url> <schema>`.
// Prints "ready" once connected, starts working on the line "go" on stdin, prints
// "picked <seq> <epoch ms, fractional>" for every job it starts, and stops on
// "stop" (or stdin closing). Conveyor's side finishes each job and claims the next
// in one call (KnexJobStore.finishAndClaim, the worker's path when it goes on). Each process works one job at a time, like one
// Conveyor worker slot and graphile-worker's default concurrency of 1.
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';

const [system, url, schema] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();
const say = (s) => process.stdout.write(`${s}\n`);
const input = readline.createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
const next = async () => (await lines.next()).value ?? 'stop';

if (system === 'conveyor') {
  const { openDatabase, KnexJobStore, PgWakeup, silentLogger } = await import('../../packages/core/dist/src/index.js');
  const db = await openDatabase({ client: 'pg', url, schema });
  const jobs = new KnexJobStore(db, { now: () => Date.now() }, silentLogger());
  // The product's wake-up path: LISTEN on the jobs channel, poll as the fallback.
  let wake = () => {};
  const wakeup = new PgWakeup(db, silentLogger());
  await wakeup.start(() => wake());
  say('ready');
  if ((await next()) === 'go') {
    let stopping = false;
    // The product's path for a worker that goes straight on: the finish of one job
    // claims the next in the same statement (JobFinisher does the same with a handoff).
    const claim = { hostId: `bench-${process.pid}`, clauses: [] };
    const loop = (async () => {
      let job = null;
      while (!stopping || job) {
        job ??= await jobs.claim(claim);
        if (!job) {
          await new Promise((resolve) => {
            wake = resolve;
            setTimeout(resolve, 1000).unref();
          });
          continue;
        }
        say(`picked ${job.reason ?? ''} ${now()}`);
        const done = { id: job.id, attempt: job.attempt, status: 'done' };
        job = stopping ? ((await jobs.finish(job.id, job.attempt, 'done')), null) : (await jobs.finishAndClaim(done, claim)).next;
      }
    })();
    await next();
    stopping = true;
    wake();
    await loop;
  }
  await wakeup.stop();
  await db.close();
} else if (system === 'graphile') {
  const { run, Logger } = await import('graphile-worker');
  say('ready');
  if ((await next()) === 'go') {
    const runner = await run({
      connectionString: url,
      schema,
      concurrency: 1,
      noHandleSignals: true,
      pollInterval: 1000,
      // Its own log lines would interleave with ours on stdout.
      logger: new Logger(() => () => {}),
      taskList: {
        noop: async (payload) => {
          say(`picked ${payload.seq ?? ''} ${now()}`);
        },
      },
    });
    await next();
    await runner.stop();
  }
} else {
  console.error(`unknown system ${system}: conveyor or graphile`);
  process.exitCode = 2;
}
input.close();
