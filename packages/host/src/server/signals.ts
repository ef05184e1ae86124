import os from 'node:os';
import type { HostLifecycle } from './lifecycle.js';

/** The signals the host stops on. */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** What a second signal does by default: end the process as that signal would (exit 128 + its number). */
export function exitLikeSignal(signal: NodeJS.Signals): void {
  process.exit(128 + (os.constants.signals[signal] ?? 0));
}

export interface SignalHandlerOptions {
  /** @default SHUTDOWN_SIGNALS */
  signals?: readonly NodeJS.Signals[];
  /** @default process */
  target?: NodeJS.EventEmitter;
  /** Called on a second signal while the shutdown runs (after the handlers are removed). @default exitLikeSignal */
  onRepeat?: (signal: NodeJS.Signals) => void;
}

/**
 * On SIGINT/SIGTERM, starts `lifecycle.close()`. The handlers stay installed while the
 * shutdown runs: execa's child cleanup (signal-exit) re-raises a signal when it finds
 * no other listener, so removing ours on the first Ctrl-C killed the host with 130 in
 * the middle of its stop whenever a git command was running. A second signal is the
 * person insisting: the handlers are removed and `onRepeat` ends the process.
 * Returns a function that uninstalls them (the CLI calls it once the host stopped).
 */
export function installSignalHandlers(lifecycle: Pick<HostLifecycle, 'close'>, options: SignalHandlerOptions = {}): () => void {
  const target = options.target ?? process;
  const signals = options.signals ?? SHUTDOWN_SIGNALS;
  const onRepeat = options.onRepeat ?? exitLikeSignal;
  let received = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    received += 1;
    if (received === 1) {
      void lifecycle.close(signal);
      return;
    }
    uninstall();
    onRepeat(signal);
  };
  const uninstall = (): void => {
    for (const s of signals) target.off(s, onSignal);
  };
  for (const s of signals) target.on(s, onSignal);
  return uninstall;
}
