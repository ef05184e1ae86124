import { ConveyorError } from '../errors.js';
import type { ClaimClause } from './claim-clause.js';

/** The claim clauses of one instance; frozen after start. */
export class ClaimClauseRegistry {
  readonly #clauses: (ClaimClause & { plugin: string })[] = [];
  #frozen = false;

  add(plugin: string, clause: ClaimClause): void {
    if (this.#frozen) throw new ConveyorError('CONVEYOR_REGISTRY_FROZEN', `cannot add claim clause "${clause.name}": the registry is frozen after start`);
    this.#clauses.push(Object.assign(Object.create(clause) as ClaimClause, { plugin, name: clause.name, build: clause.build.bind(clause) }));
  }

  removeOwner(plugin: string): void {
    for (let i = this.#clauses.length - 1; i >= 0; i--) if (this.#clauses[i]!.plugin === plugin) this.#clauses.splice(i, 1);
  }

  list(): readonly ClaimClause[] {
    return this.#clauses;
  }

  freeze(): void {
    this.#frozen = true;
  }
}
