#!/usr/bin/env node
// `npm run bench`: Conveyor measured beside the limit and its peers, each
// comparison in the same run, in alternating rounds, medians reported
// (docs/performance.md explains the method and the latest figures).
//
//   node scripts/bench.mjs              full run (a few minutes on 2 cores)
//   node scripts/bench.mjs --quick      smoke run (tiny sizes, 1–2 rounds)
//   node scripts/bench.mjs --json       one JSON line per result on stdout
//                                       (the human-readable report goes to stderr)
//   --only B1,B7                        run only these benchmarks
//   --rounds N                          override the number of rounds
//   --b8-tasks N                        B8 with N tasks instead of the size's
//   --count-git                         B8: count every git process the hosts run
//                                       (a logging shim on their PATH; slows them a little)
//
// JSON lines: {"id","metric","value","baseline","ratio","target","met"}.
// met is false when a target is missed; a benchmark that cannot run here (no
// PostgreSQL: set CONVEYOR_TEST_PG_URL) prints a line with met null and
// "skipped". The exit code is 1 only when a benchmark fails to run or the
// claim plan sorts (B2/B7); missed targets are reported, not fatal.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { killAll } from './bench/children.mjs';
import { BENCHMARKS, sizesFor } from './bench/registry.mjs';

const USAGE = 'usage: node scripts/bench.mjs [--quick] [--json] [--rounds N] [--only B1,B2,…] [--b8-tasks N] [--count-git]';
const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const countGit = argv.includes('--count-git');
const valueOf = (flag) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (['--rounds', '--only', '--b8-tasks'].includes(a)) i++;
  else if (!['--json', '--quick', '--count-git'].includes(a)) {
    console.error(`unknown option ${a}\n${USAGE}`);
    process.exit(2);
  }
}
const sizes = sizesFor(quick);
if (valueOf('--rounds') !== undefined) {
  const n = Number(valueOf('--rounds'));
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--rounds needs a positive integer\n${USAGE}`);
    process.exit(2);
  }
  sizes.rounds = n;
}
if (valueOf('--b8-tasks') !== undefined) {
  const n = Number(valueOf('--b8-tasks'));
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--b8-tasks needs a positive integer\n${USAGE}`);
    process.exit(2);
  }
  sizes.b8Tasks = n;
}
const only = valueOf('--only')?.split(',').map((s) => s.trim().toUpperCase());
const unknown = only?.filter((id) => !BENCHMARKS.some((b) => b.id === id)) ?? [];
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}: choose from ${BENCHMARKS.map((b) => b.id).join(', ')}`);
  process.exit(2);
}

const log = json ? (...a) => console.error(...a) : (...a) => console.log(...a);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-'));
const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll();
    cleanup();
    process.exit(130);
  });
}

async function main() {
  const started = performance.now();
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  log(`Conveyor benchmarks${quick ? ' (--quick)' : ''}: node ${process.version}, ${os.platform()} ${os.arch()}, ` +
    `nproc ${os.availableParallelism?.() ?? cpus.length}, ${cpus[0]?.model?.trim() ?? 'unknown cpu'}, load ${load}, rounds ${sizes.rounds}`);
  let failed = false;
  const all = [];
  for (const b of BENCHMARKS) {
    if (only && !only.includes(b.id)) continue;
    const t = performance.now();
    log(`\n${b.id}: ${b.title}`);
    let lines;
    try {
      lines = await b.run({ dir: path.join(dir, b.id), sizes, log, quick, countGit });
    } catch (err) {
      failed = true;
      log(`  ${b.id} FAILED: ${err?.stack ?? err}`);
      lines = [{ id: b.id, metric: b.title, value: null, baseline: null, ratio: null, target: null, met: false, error: String(err?.message ?? err).slice(0, 300) }];
    }
    for (const l of lines) {
      if (json) console.log(JSON.stringify(l));
      if (l.id === 'B7' && l.target === 1 && !l.met) failed = true;
      if (l.id === 'B2' && /plan/.test(l.metric) && l.met === false) failed = true;
    }
    all.push(...lines);
    log(`  ${b.id} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  log('\nsummary (ratio against target):');
  for (const l of all) {
    const verdict = l.skipped ? `skipped: ${l.skipped}` : l.error ? `error: ${l.error}` : l.met ? 'met' : 'MISSED';
    log(`  ${l.id}  ${l.metric}: value ${l.value ?? '-'}, baseline ${l.baseline ?? '-'}, ratio ${l.ratio ?? '-'}, target ${l.target ?? '-'} → ${verdict}`);
  }
  log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(err);
  code = 1;
} finally {
  cleanup();
}
process.exitCode = code;
