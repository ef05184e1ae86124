#!/usr/bin/env node
// `npm run bench`: better-sqlite3 vs sqlite3 under knex 3 on the paths the
// product uses (see docs/decisions/0003-sqlite-driver.md). Runs against the
// built core (packages/core/dist): `npx tsc -b` first (npm run bench does).
//
//   node scripts/bench.mjs            full run (5 rounds, ~2 minutes on 2 cores)
//   node scripts/bench.mjs --quick    smoke run (2 rounds, small sizes)
//   node scripts/bench.mjs --json     one JSON line per benchmark on stdout
//                                     (the human-readable report goes to stderr)
//   --rounds N                        override the number of rounds
//
// Each round runs every benchmark for both drivers, the driver order alternating
// per round; the report gives the median over rounds. JSON lines:
//   {"id","metric","value","baseline","ratio","target","met"}
// value = better-sqlite3, baseline = sqlite3, ratio = value / baseline.
// Throughput benchmarks have target null (reported; the decision compares
// drivers) and met true. The claim-plan check has target 1 and fails the
// run (exit 1) when either driver's plan contains "USE TEMP B-TREE".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DRIVERS, benchEnqueue, benchClaimFinish, benchTransition, claimPlan } from './bench/sqlite-drivers.mjs';
import { median, min, max, geomean, round, fmtRate, fmtRatio, table } from './bench/stats.mjs';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const roundsArg = argv.indexOf('--rounds');
for (const a of argv) {
  if (a.startsWith('--') && !['--json', '--quick', '--rounds'].includes(a)) {
    console.error(`unknown option ${a}\nusage: node scripts/bench.mjs [--quick] [--json] [--rounds N]`);
    process.exit(2);
  }
}

const SIZES = quick
  ? { rounds: 2, insertOps: 300, transitionOps: 300, claimOps: 200, warmup: 30, small: 1_000, large: 5_000 }
  : { rounds: 5, insertOps: 5_000, transitionOps: 5_000, claimOps: 2_000, warmup: 300, small: 1_000, large: 100_000 };
if (roundsArg >= 0) {
  const n = Number(argv[roundsArg + 1]);
  if (!Number.isInteger(n) || n < 1) {
    console.error('--rounds needs a positive integer');
    process.exit(2);
  }
  SIZES.rounds = n;
}

const k = (n) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

/** The benchmarks, in report order. `run(dir, driver)` → { opsPerSec, ... }. */
const BENCHES = [
  {
    id: 'B7',
    key: 'insert',
    metric: 'enqueue ops/s (autocommit insert, jobs.enqueue)',
    run: (dir, d) => benchEnqueue(dir, d, { ops: SIZES.insertOps, warmup: SIZES.warmup }),
  },
  {
    id: 'B7',
    key: 'claim-small',
    metric: `claim+finish pairs/s at ${k(SIZES.small)} queued`,
    run: (dir, d) => benchClaimFinish(dir, d, { depth: SIZES.small, ops: SIZES.claimOps, warmup: SIZES.warmup }),
  },
  {
    id: 'B7',
    key: 'claim-large',
    metric: `claim+finish pairs/s at ${k(SIZES.large)} queued`,
    run: (dir, d) => benchClaimFinish(dir, d, { depth: SIZES.large, ops: SIZES.claimOps, warmup: SIZES.warmup }),
  },
  {
    id: 'B7',
    key: 'transition',
    metric: 'guarded transitions/s (tasks.moveStage in a transaction)',
    run: (dir, d) => benchTransition(dir, d, { ops: SIZES.transitionOps, warmup: SIZES.warmup }),
  },
];
const PLAN_ID = 'B7';

const log = json ? (...a) => console.error(...a) : (...a) => console.log(...a);
const progress = (...a) => console.error(...a);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-'));
const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

async function main() {
  const started = performance.now();
  const cpus = os.cpus();
  log(`SQLite driver benchmark${quick ? ' (--quick)' : ''}: node ${process.version}, ${os.platform()} ${os.arch()}, ` +
    `nproc ${os.availableParallelism?.() ?? cpus.length}, ${cpus[0]?.model?.trim() ?? 'unknown cpu'}`);
  log(`rounds ${SIZES.rounds}; ops per sample: enqueue ${SIZES.insertOps}, claim+finish ${SIZES.claimOps}, ` +
    `transitions ${SIZES.transitionOps} (+${SIZES.warmup} untimed warm-up each); temp dir ${dir}`);

  // Claim plan first: it does not depend on timing.
  const plans = {};
  for (const d of DRIVERS) {
    plans[d] = await claimPlan(dir, d, { depth: SIZES.large });
  }
  log(`\nclaim SQL: ${plans[DRIVERS[0]].sql}`);
  for (const d of DRIVERS) {
    const p = plans[d];
    log(`\nEXPLAIN QUERY PLAN (${d}, SQLite ${p.sqliteVersion}, ${k(SIZES.large)} queued):`);
    for (const line of p.lines) log(`  ${line}`);
    log(`  → ${p.ok ? 'OK: no USE TEMP B-TREE' : `FAIL: ${p.tempBtree} USE TEMP B-TREE step(s)`}`);
  }

  /** samples[benchId][driver] = opsPerSec[] */
  const samples = Object.fromEntries(BENCHES.map((b) => [b.key, Object.fromEntries(DRIVERS.map((d) => [d, []]))]));
  const setupMs = Object.fromEntries(DRIVERS.map((d) => [d, []]));
  for (let r = 0; r < SIZES.rounds; r++) {
    const order = r % 2 === 0 ? [...DRIVERS] : [...DRIVERS].reverse();
    const t = performance.now();
    for (const d of order) {
      for (const b of BENCHES) {
        const res = await b.run(dir, d);
        samples[b.key][d].push(res.opsPerSec);
        if (b.key === 'claim-large') setupMs[d].push(res.setupMs);
      }
    }
    progress(`round ${r + 1}/${SIZES.rounds} (${order.join(' then ')}) done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }

  const [A, B] = DRIVERS; // value = better-sqlite3, baseline = sqlite3
  const results = BENCHES.map((b) => {
    const value = median(samples[b.key][A]);
    const baseline = median(samples[b.key][B]);
    return { bench: b, value, baseline, ratio: value / baseline };
  });

  const rows = results.map(({ bench, value, baseline, ratio }) => [
    bench.id,
    bench.metric,
    fmtRate(value),
    `${fmtRate(min(samples[bench.key][A]))}–${fmtRate(max(samples[bench.key][A]))}`,
    fmtRate(baseline),
    `${fmtRate(min(samples[bench.key][B]))}–${fmtRate(max(samples[bench.key][B]))}`,
    fmtRatio(ratio),
  ]);
  const planOk = DRIVERS.every((d) => plans[d].ok);
  rows.push([PLAN_ID, 'claim plan has no USE TEMP B-TREE', plans[A].ok ? 'yes' : 'NO', '', plans[B].ok ? 'yes' : 'NO', '', '']);
  log(`\nmedians over ${SIZES.rounds} round(s), ops/s (higher is better):\n`);
  log(table(['id', 'benchmark', A, `${A} range`, B, `${B} range`, `${A}/${B}`], rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r']));
  const g = geomean(results.map((r) => r.ratio));
  const faster = g >= 1 ? A : B;
  log(`\ngeometric mean of ${A}/${B} ratios: ${fmtRatio(g)} → faster on these paths: ${faster}`);
  log(`100k setup (bulk insert of ${k(SIZES.large)} tasks + jobs, untimed), median s: ` +
    DRIVERS.map((d) => `${d} ${(median(setupMs[d]) / 1000).toFixed(2)}`).join(', '));
  log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);

  if (json) {
    for (const { bench, value, baseline, ratio } of results) {
      console.log(JSON.stringify({ id: bench.id, metric: bench.metric, value: round(value, 1), baseline: round(baseline, 1), ratio: round(ratio, 3), target: null, met: true }));
    }
    const v = plans[A].ok ? 1 : 0;
    const bl = plans[B].ok ? 1 : 0;
    console.log(JSON.stringify({
      id: PLAN_ID,
      metric: 'claim plan free of USE TEMP B-TREE (1 = yes)',
      value: v,
      baseline: bl,
      ratio: bl === 0 ? null : round(v / bl, 3),
      target: 1,
      met: planOk,
    }));
  }
  return planOk ? 0 : 1;
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
