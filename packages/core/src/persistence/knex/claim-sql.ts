import type { Database } from '../database.js';
import type { ClaimClause, SqlFragment } from '../../queue/claim-clause.js';
import type { Logger } from '../../logger.js';
import { dbNowMs } from './db-time.js';

/**
 * The claim statement: one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING *`.
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
 */
export function buildClaimSql(
  db: Database,
  clauses: readonly ClaimClause[],
  input: { hostId: string; now: number; leaseMs?: number },
  logger: Logger,
): SqlFragment {
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
    `WHERE j.status = 'queued' AND j.available_at <= ?${extra} ` +
    `ORDER BY j.available_at, j.id LIMIT 1${lock}) AND status = 'queued' RETURNING *`;
  return { sql, bindings: [input.hostId, input.now, input.now, input.now, ...bindings] };
}
