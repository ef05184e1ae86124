import type { Task } from '../domain.js';
import type { Logger } from '../logger.js';
import type { AgentRunStore } from '../persistence/ports.js';
import type { CiStatusStore } from '../persistence/ports.js';
import type { ArtifactReader } from '../ports/artifact-reader.js';
import type { ForgePort } from '../ports/forge.js';
import type { GateWait, WaitReason, WaitView } from '../waiting/wait-reason.js';

/** A gate's answer. The first non-pass gate of an edge decides. */
export type GateVerdict = 'pass' | 'fail' | 'pending' | 'defer';

export interface GateResult {
  verdict: GateVerdict;
  /** One line for people: why not pass. */
  reason?: string;
  /** Longer output (a failing test run, a review) handed to the developer on rollback. */
  output?: string;
  /** For `defer`: how long to wait before re-evaluating. */
  delayMs?: number;
}

/** What a gate may look at. Everything is read through ports, so tests fake it. */
export interface GateContext {
  readonly task: Task;
  /** The stage whose exit edge is being evaluated. */
  readonly stage: string;
  /** Which agent just finished, or null when re-evaluated (webhook, reconciler). */
  readonly finishedAgent: string | null;
  /** True for read-only evaluation: a gate with side effects must answer `pending`. */
  readonly readOnly: boolean;
  readonly artifacts: ArtifactReader;
  readonly agentRuns: AgentRunStore;
  readonly ciStatuses: CiStatusStore;
  readonly forge: ForgePort | null;
  readonly logger: Logger;
}

export interface GateDefinition {
  /** Registry key, snake_case (`ci_green`, `merge_gate`). */
  readonly name: string;
  /** One line, shown in the snapshot and docs. */
  readonly description: string;
  /**
   * True when `check` changes something outside the database (a rebase, a push).
   * Such a gate is never called in read-only evaluation; it reports `pending` there.
   */
  readonly sideEffects?: boolean;
  check(ctx: GateContext): Promise<GateResult>;
  /**
   * Turns this gate's last recorded non-pass verdict into a sentence for people:
   * what it waits for, since when, and what would satisfy it. Reads stored state
   * only. Without it, the recorded reason is shown as it is.
   */
  explain?(wait: GateWait, view: WaitView): Promise<WaitReason> | WaitReason;
}

export const pass = (): GateResult => ({ verdict: 'pass' });
export const fail = (reason: string, output?: string): GateResult =>
  output === undefined ? { verdict: 'fail', reason } : { verdict: 'fail', reason, output };
export const pending = (reason: string): GateResult => ({ verdict: 'pending', reason });
export const defer = (reason: string, delayMs: number): GateResult => ({ verdict: 'defer', reason, delayMs });
