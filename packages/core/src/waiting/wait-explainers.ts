import { ConveyorError } from '../errors.js';
import type { WaitExplainer } from './wait-reason.js';

/** Plugins' explainers of waits that are neither a claim clause nor a gate; frozen once composed. */
export class WaitExplainers {
  readonly #list: (WaitExplainer & { plugin: string })[] = [];
  #frozen = false;

  add(plugin: string, explainer: WaitExplainer): void {
    if (this.#frozen) throw new ConveyorError('CONVEYOR_REGISTRY_FROZEN', `cannot add wait explainer "${explainer.name}": explainers are frozen once the instance is composed`);
    this.#list.push({ plugin, name: explainer.name, explain: explainer.explain.bind(explainer) });
  }

  list(): readonly (WaitExplainer & { plugin: string })[] {
    return this.#list;
  }

  freeze(): void {
    this.#frozen = true;
  }
}
