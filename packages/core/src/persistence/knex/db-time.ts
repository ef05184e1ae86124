import type { Database } from '../database.js';

/**
 * The database's clock as epoch milliseconds, as an SQL expression. Leases that
 * several hosts judge are stamped and compared in this one clock, so a host whose
 * own clock drifts can neither steal a live job nor keep a dead one.
 */
export function dbNowMs(db: Database): string {
  return db.dialect === 'pg'
    ? `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint`
    : `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;
}
