import { randomUUID } from 'node:crypto';
import { inject, injectable } from 'tsyringe';
import type { Job, Task } from '../domain.js';
import { ConveyorError, toError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { ConveyorConfig } from '../config/resolve-config.js';
import type { Database } from '../persistence/database.js';
import type { AgentRunStore, CiStatusStore, GateWaitStore, JobStore, TaskStore, Tx } from '../persistence/ports.js';
import type { Ports } from '../ports/ports.js';
import { notifySafely } from '../ports/notifier.js';
import { CoreTokens } from '../tokens.js';
import type { GateContext, GateResult, GateVerdict } from './gate.js';
import type { GateRegistry } from './gate-registry.js';
import { nextStage, stageDef, type Pipeline } from './pipeline.js';
import type { StageHooks } from './stage-hooks.js';
import { transitionEffects, type TrackerSync } from '../tracker-sync.js';
import type { Outbox } from '../outbox/outbox.js';
import { APPROVAL_REQUEST_EFFECT } from '../outbox/approval-request-effect.js';
import type { OutboxEntry } from '../persistence/ports.js';
import { faultPoint } from '../util/fault-point.js';

class MoveAborted extends Error {}

export interface AdvanceInput {
  /** The stage the caller believes the task is at; a mismatch is a no-op. */
  from: string;
  /** The agent that just finished, or null (webhook, reconciler). */
  finishedAgent?: string | null;
  reason: string;
}

export type AdvanceOutcome =
  | { kind: 'advanced'; from: string; to: string }
  | { kind: 'rolled_back'; from: string; to: string; gate: string }
  | { kind: 'blocked'; gate: string; reason: string }
  | { kind: 'failed'; gate: string; reason: string }
  | { kind: 'pending'; gate: string; reason: string }
  | { kind: 'deferred'; gate: string; delayMs: number }
  /** An agent job of the task is queued or running: its finish will advance. */
  | { kind: 'busy'; jobId: number }
  /** The task was not at `from`, was blocked, or another racer won the compare-and-set. */
  | { kind: 'stale'; stage: string };

export interface Evaluation {
  verdict: GateVerdict;
  /** The deciding gate (first non-pass), or null when all passed. */
  gate: string | null;
  result: GateResult;
  rollbackTo: string | null;
  results: { gate: string; result: GateResult }[];
}

/**
 * The stage engine: evaluates an edge's gates and moves tasks by compare-and-set.
 * Only the winner of the compare-and-set enqueues, emits and runs stage hooks.
 */
@injectable()
export class StageEngine {
  constructor(
    @inject(CoreTokens.Pipeline) private readonly pipeline: Pipeline,
    @inject(CoreTokens.GateRegistry) private readonly gates: GateRegistry,
    @inject(CoreTokens.StageHooks) private readonly hooks: StageHooks,
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.TaskStore) private readonly tasks: TaskStore,
    @inject(CoreTokens.JobStore) private readonly jobs: JobStore,
    @inject(CoreTokens.AgentRunStore) private readonly agentRuns: AgentRunStore,
    @inject(CoreTokens.CiStatusStore) private readonly ciStatuses: CiStatusStore,
    @inject(CoreTokens.Events) private readonly events: EventBus,
    @inject(CoreTokens.Logger) private readonly logger: Logger,
    @inject(CoreTokens.Config) private readonly config: ConveyorConfig,
    @inject(CoreTokens.Ports) private readonly ports: Ports,
    @inject(CoreTokens.TrackerSync) private readonly trackerSync: TrackerSync,
    @inject(CoreTokens.GateWaitStore) private readonly gateWaits: GateWaitStore,
    @inject(CoreTokens.Outbox) private readonly outbox: Outbox,
  ) {}

  /**
   * Evaluates the exit edge of the task's current stage. Read-only evaluation never
   * calls a gate with side effects (it reports `pending` for it) and emits no
   * `gate.failed`; the reconciler and reaper decide with it.
   */
  async evaluateGates(task: Task, options: { readOnly: boolean; finishedAgent?: string | null }): Promise<Evaluation> {
    const edge = this.gates.edge(this.pipeline, task.stage);
    const ctx: GateContext = {
      task,
      stage: task.stage,
      finishedAgent: options.finishedAgent ?? null,
      readOnly: options.readOnly,
      artifacts: this.ports.artifacts(),
      agentRuns: this.agentRuns,
      ciStatuses: this.ciStatuses,
      forge: this.ports.forge(),
      logger: this.logger,
    };
    const results: { gate: string; result: GateResult }[] = [];
    for (const step of edge) {
      const def = this.gates.get(step.gate);
      let result: GateResult;
      if (options.readOnly && def.sideEffects) {
        result = { verdict: 'pending', reason: `${step.gate} has side effects; not run in read-only evaluation` };
      } else {
        try {
          result = await def.check(ctx);
        } catch (err) {
          // A gate that throws cannot say pass: treat it as pending (retried by the
          // next event or the reconciler), never as a silent pass or a rollback.
          result = { verdict: 'pending', reason: `gate ${step.gate} threw: ${toError(err).message}` };
          this.logger.error({ taskId: task.id, gate: step.gate, err }, 'gate threw');
        }
      }
      results.push({ gate: step.gate, result });
      this.events.emit('gate.evaluated', {
        taskId: task.id,
        stage: task.stage,
        gate: step.gate,
        verdict: result.verdict,
        readOnly: options.readOnly,
        ...(result.reason ? { reason: result.reason } : {}),
      });
      if (result.verdict !== 'pass') {
        // A side-effect gate skipped in read-only evaluation says nothing new: keep the real record.
        if (!(options.readOnly && def.sideEffects)) await this.#recordWait(task, step.gate, result);
        return { verdict: result.verdict, gate: step.gate, result, rollbackTo: step.rollbackTo, results };
      }
    }
    await this.#recordWait(task, null, { verdict: 'pass' });
    return { verdict: 'pass', gate: null, result: { verdict: 'pass' }, rollbackTo: null, results };
  }

  /** Stores the deciding verdict for "what does it wait for"; a failed write never changes the outcome. */
  async #recordWait(task: Task, gate: string | null, result: GateResult): Promise<void> {
    try {
      if (gate === null || result.verdict === 'pass') await this.gateWaits.clear(task.id);
      else await this.gateWaits.record({ taskId: task.id, stage: task.stage, gate, verdict: result.verdict, reason: result.reason ?? null });
    } catch (err) {
      this.logger.warn({ taskId: task.id, gate, err }, 'could not record the gate verdict');
    }
  }

  /** Evaluates the edge out of `from` and acts on the first non-pass verdict. */
  async advance(taskId: number, input: AdvanceInput): Promise<AdvanceOutcome> {
    const task = await this.tasks.get(taskId);
    if (!task) throw new ConveyorError('CONVEYOR_TASK_NOT_FOUND', `task ${taskId} does not exist`);
    // A STOP is pending: nothing moves the task on (and no gate starts an irreversible
    // step such as the merge); the cancel plugin resets it.
    if (task.stage !== input.from || task.blockedReason || task.cancelRequestedAt || !nextStage(this.pipeline, task.stage)) {
      return { kind: 'stale', stage: task.stage };
    }
    // While the stage's agent is queued or running, its results are not in yet: a
    // CI status or a replayed webhook must not judge the edge on the previous run.
    // A queued `advance` job is only a timer (defer) and does not count.
    const active = await this.jobs.activeForTask(task.id);
    if (active && !(active.kind === 'advance' && active.status === 'queued')) return { kind: 'busy', jobId: active.id };
    const ev = await this.evaluateGates(task, { readOnly: false, finishedAgent: input.finishedAgent ?? null });
    const log = { taskId, workItem: task.workItemId, stage: task.stage, gate: ev.gate, verdict: ev.verdict, reason: input.reason };
    switch (ev.verdict) {
      case 'pass':
        return this.#moveForward(task, input.reason);
      case 'pending':
        this.logger.info({ ...log, why: ev.result.reason }, 'advance: pending');
        if (ev.gate === 'human_approved' && input.finishedAgent) await this.#openHumanReview(task);
        return { kind: 'pending', gate: ev.gate!, reason: ev.result.reason ?? '' };
      case 'defer':
        return this.#defer(task, ev);
      case 'fail':
        return this.#onFail(task, ev);
    }
  }

  async #moveForward(task: Task, reason: string): Promise<AdvanceOutcome> {
    const from = task.stage;
    const to = nextStage(this.pipeline, from)!;
    const moved = await this.#move(task, from, to, reason, {});
    if (!moved) return { kind: 'stale', stage: (await this.tasks.get(task.id))?.stage ?? from };
    return { kind: 'advanced', from, to };
  }

  /**
   * Compare-and-set `from → to` and the next job's insert in one transaction, so a
   * crash can never leave a task in a stage with nobody to run it.
   */
  async #move(
    task: Task,
    from: string,
    to: string,
    reason: string,
    extra: { developerRetries?: { expected: number; next: number }; jobReason?: string },
  ): Promise<boolean> {
    const def = stageDef(this.pipeline, to);
    const humanStage = this.pipeline.stages.find((s) => s.humanGate)?.name;
    const result = await this.db.knex.transaction(async (tx: Tx) => {
      const ok = await this.tasks.moveStage(
        task.id,
        from,
        to,
        {
          reason,
          ...(extra.developerRetries ? { developerRetries: extra.developerRetries } : {}),
          ...(to === humanStage ? { humanVerdict: null } : {}),
          ...(from === humanStage && to !== humanStage ? { endHumanReview: true } : {}),
        },
        tx,
      );
      if (!ok) return null;
      // A deferred re-evaluation of the old stage is moot once the task moves.
      await this.jobs.cancelQueued(task.id, 'advance', tx);
      const effects = await this.#storeEffects(task, from, to, tx);
      if (!def?.agent) return { job: null, effects };
      const job = await this.jobs.enqueue({ taskId: task.id, stage: to, kind: 'agent', role: def.agent, reason: extra.jobReason ?? null }, tx);
      // Never commit a move that leaves the new stage with nobody to run it.
      if (!job) throw new MoveAborted();
      return { job, effects };
    }).catch((err: unknown) => {
      if (err instanceof MoveAborted) return null;
      throw err;
    });
    if (!result) {
      this.logger.info({ taskId: task.id, from, to }, 'advance: lost the compare-and-set; another actor moved the task');
      return false;
    }
    faultPoint('engine.move-effects');
    await this.#announce(task.id, from, to, reason, result.job, result.effects);
    return true;
  }

  /** The move's effects outside the database, stored in its transaction (see `transitionEffects`). */
  async #storeEffects(task: Task, from: string, to: string, tx: Tx): Promise<OutboxEntry[]> {
    const moveId = `${this.outbox.owner}:${Date.now()}:${Math.random().toString(36).slice(2, 10)}`;
    const out: OutboxEntry[] = [];
    for (const e of transitionEffects(task, from, to, moveId)) out.push(await this.outbox.add(e, tx));
    return out;
  }

  /** What only the winner of a move does: log, emit, enqueue's event, stage hooks. */
  async #announce(taskId: number, from: string, to: string, reason: string, job: Job | null, effects: readonly OutboxEntry[]): Promise<void> {
    const moved = (await this.tasks.get(taskId))!;
    this.logger.info({ taskId, workItem: moved.workItemId, from, to, reason }, 'task stage changed');
    this.events.emit('task.stage_changed', { task: moved, from, to, reason });
    if (job) this.events.emit('job.enqueued', { job });
    if (to === 'done') this.events.emit('task.done', { task: moved });
    // Observers' work, already stored: run now without holding the caller up.
    this.outbox.runInBackground(effects);
    for (const hook of this.hooks.for(to)) {
      try {
        await hook.run(moved, { from, reason });
      } catch (err) {
        this.logger.error({ taskId, stage: to, plugin: hook.plugin, err }, 'stage hook failed');
      }
    }
  }

  /**
   * A PR merged on the forge before the task reached deploy: the change is in main,
   * so the task is done. Compare-and-set `from → done`; the task's active jobs are
   * cancelled in the same transaction (a running agent's finish is then fenced out).
   */
  async completeByMerge(taskId: number, from: string, reason: string): Promise<boolean> {
    const moved = await this.db.knex.transaction(async (tx: Tx) => {
      if (!(await this.tasks.moveStage(taskId, from, 'done', { reason }, tx))) return null;
      await this.jobs.cancelActive(taskId, tx);
      const task = (await this.tasks.get(taskId, tx))!;
      return { effects: await this.#storeEffects(task, from, 'done', tx) };
    });
    if (!moved) return false;
    await this.tasks.markMerged(taskId);
    faultPoint('engine.move-effects');
    await this.#announce(taskId, from, 'done', reason, null, moved.effects);
    return true;
  }

  async #onFail(task: Task, ev: Evaluation): Promise<AdvanceOutcome> {
    const gate = ev.gate!;
    const why = ev.result.reason ?? `${gate} failed`;
    const target = ev.rollbackTo;
    if (!target) {
      this.logger.info({ taskId: task.id, stage: task.stage, gate, why }, 'gate failed; task stays');
      this.events.emit('gate.failed', { taskId: task.id, stage: task.stage, gate, reason: why });
      // Nothing will move the task now but a person: say so where people look. A
      // person's own rejection at the human gate relaunches the analyst instead.
      if (gate !== 'human_approved') await this.#notify(task, 'task_error', `${task.workItemId} stays at ${task.stage}: gate ${gate} failed: ${why}`);
      return { kind: 'failed', gate, reason: why };
    }
    const next = task.developerRetries + 1;
    if (next > this.config.pipeline.maxDeveloperRetries) {
      const reason = `${gate} failed at ${task.stage} after ${task.developerRetries} developer retries: ${why}`;
      if (await this.tasks.block(task.id, task.stage, reason)) {
        const blocked = (await this.tasks.get(task.id))!;
        this.events.emit('gate.failed', { taskId: task.id, stage: task.stage, gate, reason: why });
        this.events.emit('task.blocked', { task: blocked, reason });
        await this.#alert(blocked, reason);
      }
      return { kind: 'blocked', gate, reason };
    }
    // The developer gets the failing gate and its output: a rollback without a
    // reason leaves the developer guessing what to fix.
    const brief = [`Gate "${gate}" failed at stage "${task.stage}": ${why}`, ev.result.output ?? ''].filter(Boolean).join('\n\n');
    const moved = await this.#move(task, task.stage, target, `rollback: ${gate} failed`, {
      developerRetries: { expected: task.developerRetries, next },
      jobReason: brief,
    });
    if (!moved) return { kind: 'stale', stage: (await this.tasks.get(task.id))?.stage ?? task.stage };
    this.events.emit('gate.failed', { taskId: task.id, stage: task.stage, gate, reason: why, rollbackTo: target });
    return { kind: 'rolled_back', from: task.stage, to: target, gate };
  }

  async #defer(task: Task, ev: Evaluation): Promise<AdvanceOutcome> {
    const gate = ev.gate!;
    const last = await this.jobs.latestForStage(task.id, task.stage);
    const count = (last?.deferCount ?? 0) + 1;
    if (count > this.config.pipeline.maxDefers) {
      return this.#onFail(task, { ...ev, verdict: 'fail', result: { verdict: 'fail', reason: `deferred ${count - 1} times (cap ${this.config.pipeline.maxDefers}): ${ev.result.reason ?? ''}` } });
    }
    const delayMs = ev.result.delayMs ?? this.config.pipeline.deferDelayMs;
    const job = await this.jobs.enqueue({ taskId: task.id, stage: task.stage, kind: 'advance', role: null, delayMs, deferCount: count, reason: ev.result.reason ?? null });
    if (job) this.events.emit('job.enqueued', { job });
    this.logger.info({ taskId: task.id, stage: task.stage, gate, delayMs, count, enqueued: !!job }, 'edge deferred');
    return { kind: 'deferred', gate, delayMs };
  }

  /**
   * Opens the review window once and asks the person, through an `approval-request`
   * outbox row written with the window: a kill right after the window opened used to
   * leave the issue out of In Review and nobody told (see `registerApprovalRequest`).
   */
  async #openHumanReview(task: Task): Promise<void> {
    const entry = await this.db.knex.transaction(async (tx: Tx) => {
      if (!(await this.tasks.startHumanReview(task.id, task.stage, tx))) return null;
      return this.outbox.add({ taskId: task.id, effect: APPROVAL_REQUEST_EFFECT, key: `approval-request:task-${task.id}:${task.stage}:${randomUUID()}`, payload: { stage: task.stage } }, tx);
    });
    if (!entry) return;
    faultPoint('engine.human-review-opened');
    await this.outbox.run(entry);
  }

  async #alert(task: Task, text: string): Promise<void> {
    await this.#notify(task, 'task_error', `${task.workItemId} blocked: ${text}`);
  }

  async #notify(task: Task, kind: 'task_error' | 'alert', text: string): Promise<void> {
    await notifySafely(this.ports.notifier(), { kind, text, task }, this.logger);
  }
}
