import type { HostLifecycle } from './lifecycle.js';

/** The signals the host stops on. */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * On SIGINT/SIGTERM, starts `lifecycle.close()`. The handlers remove themselves on
 * the first signal, so a second Ctrl-C gets Node's default (terminate) instead of
 * being swallowed while a slow shutdown runs. Never exits the process: the CLI
 * awaits `lifecycle.closed` and exits. Returns a function that uninstalls them.
 */
export function installSignalHandlers(lifecycle: Pick<HostLifecycle, 'close'>, options: { signals?: readonly NodeJS.Signals[]; target?: NodeJS.EventEmitter } = {}): () => void {
  const target = options.target ?? process;
  const signals = options.signals ?? SHUTDOWN_SIGNALS;
  const onSignal = (signal: NodeJS.Signals): void => {
    uninstall();
    void lifecycle.close(signal);
  };
  const uninstall = (): void => {
    for (const s of signals) target.off(s, onSignal);
  };
  for (const s of signals) target.on(s, onSignal);
  return uninstall;
}
