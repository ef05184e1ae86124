import { inject, injectable } from 'tsyringe';
import type { CiState, CiStatus } from '../../domain.js';
import { CoreTokens, type Clock } from '../../tokens.js';
import type { Database } from '../database.js';
import type { CiStatusStore, Tx } from '../ports.js';
import { toCiStatus } from './rows.js';

@injectable()
export class KnexCiStatusStore implements CiStatusStore {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Clock) private readonly clock: Clock,
  ) {}

  async record(s: { repo: string; sha: string; branch: string | null; context: string; state: CiState; targetUrl: string | null; updatedAt?: Date }, tx?: Tx): Promise<void> {
    const at = s.updatedAt?.getTime() ?? this.clock.now();
    await (tx ?? this.db.knex)('ci_statuses')
      .insert({ repo: s.repo, sha: s.sha, branch: s.branch, context: s.context, state: s.state, target_url: s.targetUrl, updated_at: at })
      .onConflict(['repo', 'sha', 'context'])
      .merge({ state: s.state, target_url: s.targetUrl, updated_at: at, branch: this.db.knex.raw('COALESCE(excluded.branch, ci_statuses.branch)') })
      // Webhooks arrive out of order: a late "pending" must not undo a "success".
      .where('ci_statuses.updated_at', '<=', at);
  }

  async forSha(repo: string, sha: string): Promise<CiStatus[]> {
    return (await this.db.knex('ci_statuses').where({ repo, sha }).orderBy('context', 'asc')).map(toCiStatus);
  }

  // Reached through the (repo, sha, context) unique index's repo prefix; a page reads it, never a gate.
  async forBranch(repo: string, branch: string, limit: number): Promise<CiStatus[]> {
    return (await this.db.knex('ci_statuses').where({ repo, branch }).orderBy([{ column: 'updated_at', order: 'desc' }, { column: 'context', order: 'asc' }]).limit(limit)).map(toCiStatus);
  }
}
