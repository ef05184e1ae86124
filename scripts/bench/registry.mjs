// Every benchmark, in report order, with the sizes of a full and a --quick run.
import { runB1 } from './b1-webhook-ingest.mjs';
import { runB2 } from './b2-claim.mjs';
import { runB3 } from './b3-pg-queue.mjs';
import { runB4 } from './b4-advance.mjs';
import { runB5 } from './b5-daemon-ticks.mjs';
import { runB6 } from './b6-host-idle.mjs';
import { runB7 } from './b7.mjs';
import { runB8 } from './b8-pipeline.mjs';

/** Sizes per run kind. Full: the figures in docs/performance.md. Quick: the smoke test's. */
export function sizesFor(quick) {
  return quick
    ? {
        rounds: 1,
        // B1
        b1Amount: 200, b1Connections: 10, b1Seconds: 10,
        // B3
        b3Jobs: 100, b3Pickups: 5,
        // B4
        b4Tasks: 2,
        // B5
        b5Small: 1_000, b5Large: 5_000, b5Ticks: 3,
        // B6
        b6IdleMs: 200,
        // B8
        b8Tasks: 1, b8Unavoidable: 1,
        // B2 and B7
        insertOps: 100, transitionOps: 100, claimOps: 100, warmup: 10, small: 200, large: 1_000,
      }
    : {
        rounds: 5,
        b1Amount: 20_000, b1Connections: 50, b1Seconds: 10,
        b3Jobs: 2_000, b3Pickups: 30,
        b4Tasks: 10,
        b5Small: 10_000, b5Large: 100_000, b5Ticks: 20,
        b6IdleMs: 2_000,
        b8Tasks: 50, b8Unavoidable: 6,
        // B2 and B7
        insertOps: 5_000, transitionOps: 5_000, claimOps: 2_000, warmup: 300, small: 1_000, large: 100_000,
      };
}

/** `run({ dir, sizes, log, quick })` → JSON result lines. */
export const BENCHMARKS = [
  { id: 'B1', title: 'signed webhook ingest vs bare fastify (autocannon, separate processes)', run: runB1 },
  { id: 'B2', title: 'claim + finish with every claim clause vs the raw driver', run: runB2 },
  { id: 'B3', title: 'PostgreSQL job throughput and pickup vs graphile-worker', run: runB3 },
  { id: 'B4', title: 'advance() with every plugin vs none', run: runB4 },
  { id: 'B5', title: 'reconciler/reaper tick selections vs the raw driver', run: runB5 },
  { id: 'B6', title: 'host idle RSS and start-to-ready', run: runB6 },
  { id: 'B7', title: 'SQLite drivers: better-sqlite3 vs sqlite3 on the product paths', run: runB7 },
  { id: 'B8', title: 'the whole pipeline with no-op agents vs its unavoidable work', run: runB8 },
];
