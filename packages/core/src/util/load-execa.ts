import type { execa as Execa } from 'execa';

let loading: Promise<typeof Execa> | null = null;

/**
 * execa, imported on the first process Conveyor runs rather than at start: it is a
 * couple of hundred modules, and a host that only listens (or a CLI command that
 * runs nothing) never needs them.
 */
export function loadExeca(): Promise<typeof Execa> {
  return (loading ??= import('execa').then((m) => m.execa));
}
