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

}
