import type { CliCommand, Daemon } from './daemon.js';
import type { OwnedRoute } from './route.js';

export type SnapshotBlock = () => unknown | Promise<unknown>;
export type LifecycleHook = () => void | Promise<void>;

/**
 * What plugins contributed to one instance, besides what lives in the gate,
 * clause, hook and finalizer registries. Everything carries its owner's name.
 */
export class Extensions {
  readonly routes: OwnedRoute[] = [];
  readonly snapshots: { plugin: string; block: SnapshotBlock }[] = [];
  readonly daemons: { plugin: string; daemon: Daemon }[] = [];
  readonly commands: { plugin: string; command: CliCommand }[] = [];
  readonly startHooks: { plugin: string; hook: LifecycleHook }[] = [];
  readonly stopHooks: { plugin: string; hook: LifecycleHook }[] = [];
  readonly listenerDisposers: { plugin: string; dispose: () => void }[] = [];

  /** Removes everything one plugin added (its registration failed halfway). */
  removeOwner(plugin: string): void {
    for (const list of [this.routes, this.snapshots, this.daemons, this.commands, this.startHooks, this.stopHooks] as { plugin: string }[][]) {
      for (let i = list.length - 1; i >= 0; i--) if (list[i]!.plugin === plugin) list.splice(i, 1);
    }
    for (let i = this.listenerDisposers.length - 1; i >= 0; i--) {
      if (this.listenerDisposers[i]!.plugin === plugin) {
        this.listenerDisposers[i]!.dispose();
        this.listenerDisposers.splice(i, 1);
      }
    }
  }
}
