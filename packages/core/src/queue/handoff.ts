import type { Job } from '../domain.js';
import type { ClaimRequest } from '../persistence/ports.js';

/**
 * A worker going straight on: the finish of its job claims the next one in the
 * same statement (PostgreSQL: one round trip instead of two), and the job claimed
 * takes over the finishing job's slot.
 */
export interface Handoff {
  /** The claim to make with the finish, or null to claim nothing (the worker is stopping). */
  claim(): ClaimRequest | null;
  /** Receives the job claimed with the finish, once its transaction has committed. */
  take(job: Job): void;
}
