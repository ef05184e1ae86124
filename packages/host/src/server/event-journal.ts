import { randomBytes } from 'node:crypto';
import type { ConveyorEventName, ConveyorEvents, EventBus } from '@conveyor/core';

/** How many recent events a host keeps for clients that reconnect (`Last-Event-ID`). */
export const JOURNAL_SIZE = 1000;

/** One event as `GET /events` sends it: a small summary, never a whole task or an error's text. */
export interface StreamedEvent {
  /** `<epoch>-<seq>`: the epoch changes with every start of the host, so an id from before a restart is recognised as such. */
  id: string;
  seq: number;
  type: ConveyorEventName;
  data: Record<string, unknown>;
}

/**
 * The events a page may watch, each reduced to ids, stages and numbers. Agent
 * output, error messages and task descriptions stay out: a read must not carry
 * what `GET /tasks/:id/logs` guards with the token.
 */
const SUMMARIES: { [E in ConveyorEventName]?: (p: ConveyorEvents[E]) => Record<string, unknown> } = {
  'task.created': ({ task }) => ({ taskId: task.id, repo: task.repo, workItemId: task.workItemId, stage: task.stage }),
  'task.stage_changed': ({ task, from, to }) => ({ taskId: task.id, repo: task.repo, from, to }),
  'task.blocked': ({ task }) => ({ taskId: task.id, repo: task.repo, stage: task.stage }),
  'task.unblocked': ({ task }) => ({ taskId: task.id, repo: task.repo, stage: task.stage }),
  'task.cancelled': ({ task }) => ({ taskId: task.id, repo: task.repo }),
  'task.done': ({ task }) => ({ taskId: task.id, repo: task.repo }),
  'human.approval_needed': ({ task }) => ({ taskId: task.id, repo: task.repo, stage: task.stage }),
  'job.enqueued': ({ job }) => ({ jobId: job.id, taskId: job.taskId, stage: job.stage, role: job.role }),
  'job.claimed': ({ job, hostId }) => ({ jobId: job.id, taskId: job.taskId, stage: job.stage, role: job.role, hostId }),
  'job.finished': ({ job, status }) => ({ jobId: job.id, taskId: job.taskId, stage: job.stage, status }),
  'job.retried': ({ job, delayMs }) => ({ jobId: job.id, taskId: job.taskId, stage: job.stage, delayMs }),
  'job.retry_exhausted': ({ job }) => ({ jobId: job.id, taskId: job.taskId, stage: job.stage }),
  'agent.started': ({ job }) => ({ jobId: job.id, taskId: job.taskId, stage: job.stage, role: job.role }),
  'agent.finished': ({ job, exitCode, costUsd }) => ({ jobId: job.id, taskId: job.taskId, stage: job.stage, exitCode, costUsd }),
  'gate.evaluated': ({ taskId, stage, gate, verdict }) => ({ taskId, stage, gate, verdict }),
  'gate.failed': ({ taskId, stage, gate, rollbackTo }) => ({ taskId, stage, gate, rollbackTo: rollbackTo ?? null }),
  'merge.deferred': ({ taskId, repo }) => ({ taskId, repo }),
  'merge.completed': ({ taskId, repo, sha }) => ({ taskId, repo, sha }),
  'deploy.degraded': ({ taskId, repo }) => ({ taskId, repo }),
  'reconciler.unstuck': ({ taskId, from, to }) => ({ taskId, from, to }),
};

/** The names `GET /events` streams. */
export const STREAMED_EVENTS = Object.keys(SUMMARIES) as ConveyorEventName[];

/**
 * A bounded, in-memory journal of the instance's task and job events, numbered in
 * order, that `GET /events` replays from and streams. Memory only: a host that
 * restarts starts a new epoch, and a client holding an older id is told to reload.
 */
export class EventJournal {
  readonly epoch = randomBytes(4).toString('hex');
  readonly #size: number;
  readonly #entries: StreamedEvent[] = [];
  readonly #subscribers = new Set<(e: StreamedEvent) => void>();
  readonly #disposers: (() => void)[] = [];
  #seq = 0;

  constructor(events: Pick<EventBus, 'on'>, size = JOURNAL_SIZE) {
    this.#size = size;
    for (const name of STREAMED_EVENTS) {
      const summarize = SUMMARIES[name] as (p: unknown) => Record<string, unknown>;
      this.#disposers.push(events.on(name, (payload) => this.#append(name, summarize(payload))));
    }
  }

  #append(type: ConveyorEventName, data: Record<string, unknown>): void {
    const seq = ++this.#seq;
    const entry: StreamedEvent = { id: `${this.epoch}-${seq}`, seq, type, data };
    this.#entries.push(entry);
    if (this.#entries.length > this.#size) this.#entries.shift();
    for (const deliver of this.#subscribers) deliver(entry);
  }

  /**
   * The events after `lastEventId`, or null when they cannot be told: an id of
   * another epoch (the host restarted), one not yet issued, or one older than the
   * journal keeps. Null means "reload everything", never "nothing happened".
   */
  since(lastEventId: string): StreamedEvent[] | null {
    const m = /^([0-9a-f]+)-(\d+)$/.exec(lastEventId.trim());
    if (!m || m[1] !== this.epoch) return null;
    const seq = Number(m[2]);
    if (seq > this.#seq) return null;
    const oldest = this.#entries[0]?.seq ?? this.#seq + 1;
    if (seq < oldest - 1) return null;
    return this.#entries.filter((e) => e.seq > seq);
  }

  /** Calls `deliver` for every event from now on; returns the unsubscribe. */
  subscribe(deliver: (e: StreamedEvent) => void): () => void {
    this.#subscribers.add(deliver);
    return () => this.#subscribers.delete(deliver);
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Stops listening to the bus and drops every subscriber. */
  close(): void {
    for (const dispose of this.#disposers.splice(0)) dispose();
    this.#subscribers.clear();
  }
}
