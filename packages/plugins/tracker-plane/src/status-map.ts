const norm = (s: string) => s.trim().toLowerCase();

/**
 * Conveyor status names ↔ Plane state names. By default they are the same words
 * (Conveyor's `statuses.*` are created as states in Plane); `statusNames` maps the
 * ones that differ. Reading back is case- and space-insensitive, because a person
 * who names the Plane state "To analyse" still means Conveyor's "To Analyse".
 * A mapped Plane name wins over a Conveyor name spelled the same way.
 */
export class StatusNameMap {
  readonly #toPlane = new Map<string, string>();
  readonly #toConveyor = new Map<string, string>();

  /**
   * @param statusNames Conveyor name → Plane name (`plugins.tracker-plane.statusNames`).
   * @param conveyorNames Conveyor's configured names (`Object.values(statuses)`), in their own spelling.
   */
  constructor(statusNames: Readonly<Record<string, string>>, conveyorNames: readonly string[]) {
    for (const name of conveyorNames) this.#toConveyor.set(norm(name), name);
    for (const [conveyor, plane] of Object.entries(statusNames)) {
      this.#toPlane.set(norm(conveyor), plane);
      this.#toConveyor.set(norm(plane), conveyor);
    }
  }

  /** The Plane state to set for a Conveyor status. */
  toPlane(conveyorName: string): string {
    return this.#toPlane.get(norm(conveyorName)) ?? conveyorName;
  }

  /** The Conveyor status a Plane state means; a state Conveyor does not know keeps its own name (intake ignores it). */
  toConveyor(planeName: string): string {
    return this.#toConveyor.get(norm(planeName)) ?? planeName;
  }
}
