import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const IDS = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8'];
/** Without PostgreSQL these lines say they skipped; every other line must carry a figure. */
const PG_ONLY = (l: BenchLine) => l.id === 'B3' || (l.id === 'B8' && /PostgreSQL/.test(l.metric));

interface BenchLine {
  id: string;
  metric: string;
  value: number | null;
  baseline: number | null;
  ratio: number | null;
  target: number | string | null;
  met: boolean | null;
  skipped?: string;
  error?: string;
}

// The benchmarks are not part of `npm test`; this keeps their scripts from rotting:
// every benchmark runs at tiny sizes and prints the JSON line contract.
test('npm run bench -- --json --quick prints B1–B8 in the JSON line contract', { timeout: 170_000 }, async (t) => {
  const child = spawn(process.execPath, [path.join(root, 'scripts/bench.mjs'), '--json', '--quick'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-20_000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, `bench exited ${code}:\n${stderr}`);

  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as BenchLine);
  assert.deepEqual([...new Set(lines.map((l) => l.id))], IDS, 'one or more lines per benchmark, in order');
  const pg = Boolean(process.env.CONVEYOR_TEST_PG_URL);
  for (const l of lines) {
    const where = `${l.id} ${l.metric}`;
    for (const key of ['id', 'metric', 'value', 'baseline', 'ratio', 'target', 'met'] as const) assert.ok(key in l, `${where}: no "${key}"`);
    assert.equal(l.error, undefined, `${where}: ${l.error}`);
    assert.equal(typeof l.metric, 'string');
    if (l.skipped !== undefined) {
      assert.ok(!pg && PG_ONLY(l), `${where} skipped (${l.skipped}) although it should run here`);
      assert.equal(l.met, null);
      continue;
    }
    assert.equal(typeof l.value, 'number', `${where}: value`);
    assert.ok(Number.isFinite(l.value) && l.value! >= 0, `${where}: value ${l.value}`);
    assert.equal(typeof l.met, 'boolean', `${where}: met`);
    for (const key of ['baseline', 'ratio'] as const) assert.ok(l[key] === null || (typeof l[key] === 'number' && Number.isFinite(l[key])), `${where}: ${key} ${l[key]}`);
    assert.ok(l.target === null || typeof l.target === 'number' || typeof l.target === 'string', `${where}: target`);
  }
  if (pg) assert.ok(lines.some((l) => l.id === 'B8' && /PostgreSQL, 2 hosts/.test(l.metric) && l.value !== null), 'B8 ran on PostgreSQL with two hosts');
});
