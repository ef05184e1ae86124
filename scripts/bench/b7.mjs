// B7: better-sqlite3 vs sqlite3 under knex 3 on the paths the product uses
// (see docs/decisions/0003-sqlite-driver.md). Each round runs every path for
// both drivers, the driver order alternating per round; medians over rounds.
// value = better-sqlite3, baseline = sqlite3, ratio = value / baseline. The
// throughput lines have target null (reported; they drive the default). The
// claim-plan line has target 1 and fails when either plan has "USE TEMP B-TREE".
import { performance } from 'node:perf_hooks';
import { DRIVERS, benchEnqueue, benchClaimFinish, benchTransition, claimPlan } from './sqlite-drivers.mjs';
import { line } from './result.mjs';
import { median, min, max, geomean, fmtRate, fmtRatio, table } from './stats.mjs';

export const k = (n) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

/** @param {{ dir: string, sizes: Record<string, number>, log: Function }} o */
export async function runB7({ dir, sizes: S, log }) {
  const BENCHES = [
    { key: 'insert', metric: 'enqueue ops/s (autocommit insert, jobs.enqueue)', run: (d) => benchEnqueue(dir, d, { ops: S.insertOps, warmup: S.warmup }) },
    { key: 'claim-small', metric: `claim+finish pairs/s at ${k(S.small)} queued`, run: (d) => benchClaimFinish(dir, d, { depth: S.small, ops: S.claimOps, warmup: S.warmup }) },
    { key: 'claim-large', metric: `claim+finish pairs/s at ${k(S.large)} queued`, run: (d) => benchClaimFinish(dir, d, { depth: S.large, ops: S.claimOps, warmup: S.warmup }) },
    { key: 'transition', metric: 'guarded transitions/s (tasks.moveStage in a transaction)', run: (d) => benchTransition(dir, d, { ops: S.transitionOps, warmup: S.warmup }) },
  ];
  log(`B7 rounds ${S.rounds}; ops per sample: enqueue ${S.insertOps}, claim+finish ${S.claimOps}, ` +
    `transitions ${S.transitionOps} (+${S.warmup} untimed warm-up each)`);

  // Claim plan first: it does not depend on timing.
  const plans = {};
  for (const d of DRIVERS) plans[d] = await claimPlan(dir, d, { depth: S.large });
  log(`  claim SQL: ${plans[DRIVERS[0]].sql}`);
  for (const d of DRIVERS) {
    const p = plans[d];
    log(`  EXPLAIN QUERY PLAN (${d}, SQLite ${p.sqliteVersion}, ${k(S.large)} queued):`);
    for (const l of p.lines) log(`    ${l}`);
    log(`    → ${p.ok ? 'OK: no USE TEMP B-TREE' : `FAIL: ${p.tempBtree} USE TEMP B-TREE step(s)`}`);
  }

  const samples = Object.fromEntries(BENCHES.map((b) => [b.key, Object.fromEntries(DRIVERS.map((d) => [d, []]))]));
  for (let r = 0; r < S.rounds; r++) {
    const order = r % 2 === 0 ? [...DRIVERS] : [...DRIVERS].reverse();
    const t = performance.now();
    for (const d of order) for (const b of BENCHES) samples[b.key][d].push((await b.run(d)).opsPerSec);
    log(`  B7 round ${r + 1}/${S.rounds} (${order.join(' then ')}) done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }

  const [A, B] = DRIVERS;
  const results = BENCHES.map((b) => ({ b, value: median(samples[b.key][A]), baseline: median(samples[b.key][B]) }));
  const rows = results.map(({ b, value, baseline }) => [
    b.metric,
    fmtRate(value), `${fmtRate(min(samples[b.key][A]))}–${fmtRate(max(samples[b.key][A]))}`,
    fmtRate(baseline), `${fmtRate(min(samples[b.key][B]))}–${fmtRate(max(samples[b.key][B]))}`,
    fmtRatio(value / baseline),
  ]);
  log(table(['B7 path', A, 'range', B, 'range', 'ratio'], rows, ['l', 'r', 'r', 'r', 'r', 'r']));
  log(`  geometric mean ${A}/${B}: ${fmtRatio(geomean(results.map((r) => r.value / r.baseline)))}`);

  const planOk = DRIVERS.every((d) => plans[d].ok);
  const v = plans[A].ok ? 1 : 0;
  const bl = plans[B].ok ? 1 : 0;
  return [
    ...results.map(({ b, value, baseline }) => line({ id: 'B7', metric: b.metric, value, baseline, target: null, met: true })),
    line({ id: 'B7', metric: 'claim plan free of USE TEMP B-TREE (1 = yes)', value: v, baseline: bl, ratio: bl === 0 ? null : v / bl, target: 1, met: planOk }),
  ];
}
