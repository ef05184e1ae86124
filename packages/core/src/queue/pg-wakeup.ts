import type { Database } from '../persistence/database.js';
import type { Logger } from '../logger.js';

/** The NOTIFY channel for new jobs, per schema so test schemas do not wake each other. */
export function jobsChannel(db: Database): string {
  const schema = (db.knex.client.config as { searchPath?: string[] }).searchPath?.[0];
  return `conveyor_jobs${schema ? `_${schema}` : ''}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);
}

interface PgConnection {
  query(sql: string): Promise<unknown>;
  on(event: 'notification', listener: (msg: { channel: string }) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  removeAllListeners(event: string): void;
}

/**
 * LISTEN on PostgreSQL so a job enqueued by another host wakes this worker at once
 * instead of at the next poll. Losing the connection is not fatal: polling remains.
 */
export class PgWakeup {
  #conn: PgConnection | null = null;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  async start(onWake: () => void): Promise<void> {
    if (this.db.dialect !== 'pg' || this.#conn) return;
    const channel = jobsChannel(this.db);
    let conn: PgConnection | null = null;
    try {
      conn = (await this.db.knex.client.acquireConnection()) as PgConnection;
      conn.on('notification', (msg) => {
        if (msg.channel === channel) onWake();
      });
      conn.on('error', (err) => this.logger.warn({ err }, 'LISTEN connection failed; the worker keeps polling'));
      await conn.query(`LISTEN "${channel}"`);
      this.#conn = conn;
    } catch (err) {
      this.logger.warn({ err }, 'cannot LISTEN for new jobs; the worker keeps polling');
      // A held connection would make the pool's destroy wait forever.
      if (conn) {
        conn.removeAllListeners('notification');
        await Promise.resolve(this.db.knex.client.releaseConnection(conn)).catch(() => undefined);
      }
    }
  }

  async stop(): Promise<void> {
    const conn = this.#conn;
    this.#conn = null;
    if (!conn) return;
    try {
      await conn.query('UNLISTEN *');
    } catch {
      // the connection may already be gone; releasing it is what matters
    }
    conn.removeAllListeners('notification');
    conn.removeAllListeners('error');
    await this.db.knex.client.releaseConnection(conn);
  }
}
