import { ConveyorError } from '../errors.js';
import type { GateDefinition } from './gate.js';
import type { Pipeline } from './pipeline.js';

/** A plugin's gate spliced onto a stage's exit edge. */
export interface SubGateSplice {
  /** The stage whose exit edge gets the gate (`deploy-staging`). */
  readonly stage: string;
  readonly gate: string;
  /** Where a failure sends the task (merge conflict → `development`). */
  readonly rollbackTo?: string;
  /** Owner, for the snapshot and error messages. */
  readonly plugin: string;
}

/** The edge as evaluated: exit gates, then sub-gates in declared order. */
export interface EdgeGate {
  readonly gate: string;
  readonly rollbackTo: string | null;
  readonly source: 'stage' | string;
}

/**
 * Gate registry: name → check, plus the sub-gates spliced onto edges. Plugins
 * register while the instance is being composed; `freeze()` then makes it
 * read-only, and the frozen snapshot is guarded by a test.
 */
export class GateRegistry {
  readonly #gates = new Map<string, GateDefinition>();
  readonly #splices: SubGateSplice[] = [];
  #frozen = false;

  register(gate: GateDefinition): void {
    this.#assertOpen(`register gate "${gate.name}"`);
    if (this.#gates.has(gate.name)) throw new ConveyorError('CONVEYOR_GATE_DUPLICATE', `gate "${gate.name}" is already registered`);
    this.#gates.set(gate.name, Object.freeze({ ...gate }));
  }

  /** Splices a registered (or later registered) gate onto a stage's exit edge. Order = call order. */
  splice(splice: SubGateSplice): void {
    this.#assertOpen(`splice gate "${splice.gate}"`);
    this.#splices.push(Object.freeze({ ...splice }));
  }

  get(name: string): GateDefinition {
    const g = this.#gates.get(name);
    if (!g) throw new ConveyorError('CONVEYOR_GATE_UNKNOWN', `gate "${name}" is not registered`);
    return g;
  }

  has(name: string): boolean {
    return this.#gates.has(name);
  }

  names(): string[] {
    return [...this.#gates.keys()].sort();
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  /** Checks every gate the pipeline and the splices name exists, then freezes. */
  freeze(pipeline: Pipeline): void {
    for (const s of pipeline.stages) {
      for (const g of s.exitGates) if (!this.#gates.has(g)) throw new ConveyorError('CONVEYOR_GATE_UNKNOWN', `stage "${s.name}" names gate "${g}", which is not registered`);
    }
    for (const sp of this.#splices) {
      if (!this.#gates.has(sp.gate)) throw new ConveyorError('CONVEYOR_GATE_UNKNOWN', `plugin "${sp.plugin}" splices gate "${sp.gate}", which is not registered`);
      if (!pipeline.stages.some((s) => s.name === sp.stage && s.name !== 'done')) {
        throw new ConveyorError('CONVEYOR_GATE_UNKNOWN', `plugin "${sp.plugin}" splices "${sp.gate}" onto unknown stage "${sp.stage}"`);
      }
      if (sp.rollbackTo && !pipeline.stages.some((s) => s.name === sp.rollbackTo && s.name !== 'done')) {
        throw new ConveyorError('CONVEYOR_PIPELINE_INVALID', `plugin "${sp.plugin}" rolls "${sp.gate}" back to unknown stage "${sp.rollbackTo}"`);
      }
    }
    this.#frozen = true;
    Object.freeze(this.#splices);
  }

  /** The gates of a stage's exit edge, in evaluation order. */
  edge(pipeline: Pipeline, stage: string): EdgeGate[] {
    const def = pipeline.stages.find((s) => s.name === stage);
    if (!def) return [];
    const out: EdgeGate[] = def.exitGates.map((g) => ({ gate: g, rollbackTo: def.rollbackTo?.[g] ?? null, source: 'stage' }));
    for (const sp of this.#splices) if (sp.stage === stage) out.push({ gate: sp.gate, rollbackTo: sp.rollbackTo ?? null, source: sp.plugin });
    return out;
  }

  /** Everything that decides transitions, as plain data (snapshot-tested). */
  snapshot(pipeline: Pipeline): { gates: { name: string; sideEffects: boolean }[]; transitions: unknown[] } {
    return {
      gates: this.names().map((n) => ({ name: n, sideEffects: this.#gates.get(n)!.sideEffects === true })),
      transitions: pipeline.stages.map((s, i) => ({
        stage: s.name,
        agent: s.agent ?? null,
        next: pipeline.stages[i + 1]?.name ?? null,
        humanGate: s.humanGate === true,
        edge: this.edge(pipeline, s.name),
      })),
    };
  }

  #assertOpen(what: string): void {
    if (this.#frozen) throw new ConveyorError('CONVEYOR_REGISTRY_FROZEN', `cannot ${what}: the gate registry is frozen once the instance is composed`);
  }
}
