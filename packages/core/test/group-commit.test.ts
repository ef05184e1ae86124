import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCommit } from '../src/util/group-commit.js';

/** A writer whose calls the test sees and releases one by one. */
function gatedWriter() {
  const calls: { items: string[]; release: (err?: Error) => void }[] = [];
  let called: () => void = () => undefined;
  const write = (items: readonly string[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ items: [...items], release: (err) => (err ? reject(err) : resolve(items.map((i) => `${i}!`))) });
      called();
    });
  /** Resolves once the writer has been called `n` times in all. */
  const calledTimes = (n: number) => new Promise<void>((resolve) => {
    const check = () => (calls.length >= n ? resolve() : (called = check));
    check();
  });
  return { write, calls, calledTimes };
}

function settled<T>(p: Promise<T>): { done: boolean } {
  const s = { done: false };
  p.then(() => (s.done = true), () => (s.done = true));
  return s;
}

test('items added in the same turn of the event loop are written by one call, each settled only after it', async () => {
  const w = gatedWriter();
  const gc = new GroupCommit(w.write, { maxBatch: 10 });
  const adds = ['a', 'b', 'c'].map((x) => gc.add(x));
  const states = adds.map(settled);
  await w.calledTimes(1);
  assert.deepEqual(w.calls.map((c) => c.items), [['a', 'b', 'c']]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(states.map((s) => s.done), [false, false, false], 'nothing is acknowledged before the write returns');
  w.calls[0]!.release();
  assert.deepEqual(await Promise.all(adds), ['a!', 'b!', 'c!'], 'each gets its own result, in order');
});

test('while a batch is being written the next items gather, and go in one write after it', async () => {
  const w = gatedWriter();
  const gc = new GroupCommit(w.write, { maxBatch: 10 });
  const first = gc.add('a');
  await w.calledTimes(1);
  const later = ['b', 'c', 'd'].map((x) => gc.add(x));
  await new Promise((r) => setImmediate(r));
  assert.equal(w.calls.length, 1, 'one batch in flight at a time');
  w.calls[0]!.release();
  assert.equal(await first, 'a!');
  await w.calledTimes(2);
  assert.deepEqual(w.calls[1]!.items, ['b', 'c', 'd']);
  w.calls[1]!.release();
  assert.deepEqual(await Promise.all(later), ['b!', 'c!', 'd!']);
  await gc.drained();
});

test('a failed write rejects every item of its batch with its error; the next batch is written', async () => {
  const w = gatedWriter();
  const gc = new GroupCommit(w.write, { maxBatch: 2 });
  const adds = ['a', 'b', 'c'].map((x) => gc.add(x));
  await w.calledTimes(1);
  assert.deepEqual(w.calls[0]!.items, ['a', 'b'], 'maxBatch bounds a batch');
  w.calls[0]!.release(new Error('disk full'));
  await assert.rejects(adds[0]!, /disk full/);
  await assert.rejects(adds[1]!, /disk full/);
  await w.calledTimes(2);
  assert.deepEqual(w.calls[1]!.items, ['c']);
  w.calls[1]!.release();
  assert.equal(await adds[2], 'c!');
});

test('a writer that returns the wrong number of results fails its batch, and maxBatch must be a positive integer', async () => {
  const gc = new GroupCommit(async () => ['only one'], { maxBatch: 5 });
  const adds = [gc.add('a'), gc.add('b')];
  for (const a of adds) await assert.rejects(a, /returned 1 results for 2 items/);
  assert.throws(() => new GroupCommit(async () => [], { maxBatch: 0 }), /maxBatch must be a positive integer/);
});
