import type { Database } from '../database.js';
import type { ClaimClause, SqlFragment } from '../../queue/claim-clause.js';
import type { Logger } from '../../logger.js';
import { dbNowMs } from './db-time.js';

/**
 * The columns a claim or a finish-and-claim returns: named, never `*`, so a
 * prepared statement (PostgreSQL keeps them per connection) does not fail with
 * "cached plan must not change result type" when a migration adds a column.
 */
export const JOB_RETURNING =
  'id, task_id, stage, kind, role, status, attempt, retries, defer_count, available_at, created_at, started_at, ' +
  'heartbeat_at, lease_expires_at, recoveries, resume_attempt, finished_at, host_id, pid, reason, error';

export interface ClaimInput {
  hostId: string;
  now: number;
  leaseMs?: number;
}

/**
 * The claim statement: one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING …`.
 *
 * The inner SELECT walks `jobs_claim_order (available_at, id) WHERE status =
 * 'queued'` in index order and stops at the first row that passes every clause,
 * so it never sorts the candidates. Plugins' clauses are ANDed into it: a job they
 * hold back is simply not selected, and takes no concurrency slot.
 *
 * SQLite: the single statement is its own write transaction (the write lock is
 * taken before the inner SELECT's snapshot can go stale; `busy_timeout` waits).
 * PostgreSQL: `FOR UPDATE OF j SKIP LOCKED` lets concurrent claimers pass each
 * other instead of queueing on the same row.
 *
 * The claim grants a lease in the database's clock (`lease_expires_at`): any host
 * may take the job back once it runs out, whatever its own clock says.
 *
 * The text depends only on the clauses' SQL and the lease length, never on the
 * values (they are bindings), so the same claim is the same prepared statement.
 */
export function buildClaimSql(db: Database, clauses: readonly ClaimClause[], input: ClaimInput, logger: Logger): SqlFragment {
  const claim = claimParts(db, clauses, input, logger, '');
  return { sql: `${claim.sql} RETURNING ${JOB_RETURNING}`, bindings: claim.bindings };
}

/**
 * Finishing a job and claiming the next in one PostgreSQL statement, for a worker
 * that goes straight on. The finish is the same fenced compare-and-set as
 * `finish` (`running` and this attempt); the claim runs only when the finish
 * matched a row (`EXISTS (SELECT 1 FROM fin)`), so a late completion of a job
 * taken away claims nothing. One row comes back: `finished` (0 or 1) and the
 * claimed job's columns (all null when nothing was claimed).
 *
 * Both parts see one snapshot: a clause that counts running jobs still sees the
 * finishing one as running, so it may hold a job back that a separate claim after
 * the finish would have taken (never the reverse); the worker's next claim takes it.
 */
export function buildFinishAndClaimSql(
  db: Database,
  clauses: readonly ClaimClause[],
  finish: { id: number; attempt: number; status: 'done' | 'failed'; error: string | null },
  input: ClaimInput,
  logger: Logger,
): SqlFragment {
  const claim = claimParts(db, clauses, input, logger, ' AND EXISTS (SELECT 1 FROM fin)');
  const sql =
    `WITH fin AS (${finishSql(finish.status)}), ` +
    `next AS (${claim.sql} RETURNING ${JOB_RETURNING}) ` +
    `SELECT (SELECT count(*) FROM fin) AS finished, next.* FROM (SELECT 1) AS one LEFT JOIN next ON true`;
  return { sql, bindings: [input.now, finish.error, finish.id, finish.attempt, ...claim.bindings] };
}

/**
 * The fenced finish: `running → done|failed` for this attempt only, returning the
 * id it finished (no row: the attempt lost the job). Bindings: finished_at, error,
 * id, attempt.
 */
export function finishSql(status: 'done' | 'failed'): string {
  // The status is written as a literal (one statement per status): the UPDATE is
  // the same text every time, and SQLite can see which partial indexes it leaves.
  const to = status === 'done' ? 'done' : 'failed';
  return `UPDATE jobs SET status = '${to}', finished_at = ?, error = ? WHERE id = ? AND attempt = ? AND status = 'running' RETURNING id`;
}

function claimParts(db: Database, clauses: readonly ClaimClause[], input: ClaimInput, logger: Logger, gate: string): SqlFragment {
  const parts: string[] = [];
  const bindings: unknown[] = [];
  const nowDate = new Date(input.now);
  for (const clause of clauses) {
    let frag: SqlFragment | null;
    try {
      frag = clause.build({ dialect: db.dialect, job: 'j', task: 't', now: nowDate });
    } catch (err) {
      // Fail open: a clause that cannot be built filters nothing for this claim.
      logger.warn({ clause: clause.name, err }, 'claim clause failed to build; claiming without it');
      continue;
    }
    if (!frag) continue;
    parts.push(`(${frag.sql})`);
    bindings.push(...frag.bindings);
  }
  const extra = parts.length ? ` AND ${parts.join(' AND ')}` : '';
  // An integer written into the statement, not a binding: the SET part keeps its three.
  const leaseMs = Math.max(0, Math.trunc(Number(input.leaseMs ?? 15_000)) || 0);
  const lock = db.dialect === 'pg' ? ' FOR UPDATE OF j SKIP LOCKED' : '';
  const sql =
    `UPDATE jobs SET status = 'running', attempt = attempt + 1, host_id = ?, ` +
    `started_at = ?, heartbeat_at = ?, pid = NULL, lease_expires_at = ${dbNowMs(db)} + ${leaseMs} ` +
    `WHERE id = (SELECT j.id FROM jobs j JOIN tasks t ON t.id = j.task_id ` +
    `WHERE j.status = 'queued' AND j.available_at <= ?${gate}${extra} ` +
    `ORDER BY j.available_at, j.id LIMIT 1${lock}) AND status = 'queued'`;
  return { sql, bindings: [input.hostId, input.now, input.now, input.now, ...bindings] };
}
