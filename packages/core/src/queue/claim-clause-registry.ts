import { ConveyorError } from '../errors.js';
import type { ClaimClause } from './claim-clause.js';

/** The claim clauses of one instance; frozen once the instance is composed. */
export class ClaimClauseRegistry {
  readonly #clauses: (ClaimClause & { plugin: string })[] = [];
  #frozen = false;

  add(plugin: string, clause: ClaimClause): void {
    if (this.#frozen) throw new ConveyorError('CONVEYOR_REGISTRY_FROZEN', `cannot add claim clause "${clause.name}": claim clauses are frozen once the instance is composed`);
    this.#clauses.push(Object.assign(Object.create(clause) as ClaimClause, { plugin, name: clause.name, build: clause.build.bind(clause) }));
  }

  list(): readonly ClaimClause[] {
    return this.#clauses;
  }

  freeze(): void {
    this.#frozen = true;
  }
}
