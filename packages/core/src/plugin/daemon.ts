/** A plugin's background loop (reaper, reconciler, post-deploy monitor). */
export interface Daemon {
  readonly name: string;
  start(): void | Promise<void>;
  /** Must be safe to call twice, and wait for the tick in flight. */
  stop(): void | Promise<void>;
  /** True while started. */
  readonly running?: boolean;
}

/** An optional `conveyor <plugin-command>` sub-command. */
export interface CliCommand {
  readonly name: string;
  readonly description: string;
  run(args: readonly string[]): Promise<number>;
}
