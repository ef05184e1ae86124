import { isTerminalStage, type Job, type Task } from '../domain.js';
import type { ConveyorConfig } from '../config/resolve-config.js';
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Stores } from '../persistence/ports.js';
import type { GateRegistry } from '../pipeline/gate-registry.js';
import type { ClaimClauseRegistry } from '../queue/claim-clause-registry.js';
import type { Clock } from '../tokens.js';
import { describeGateWait } from './gate-wait-text.js';
import type { WaitExplainers } from './wait-explainers.js';
import type { WaitingFor, WaitReason, WaitView } from './wait-reason.js';

export interface WaitingDeps {
  stores: Stores;
  config: ConveyorConfig;
  clock: Clock;
  gates: GateRegistry;
  clauses: ClaimClauseRegistry;
  explainers: WaitExplainers;
  logger: Logger;
}

const iso = (d: Date | null | undefined): string | null => d?.toISOString() ?? null;

/**
 * What a task waits for, in plain words, computed from stored state only: the
 * task row, its active job, the claim clauses' and gates' own explanations, the
 * last recorded gate verdict. Never a git fetch, a forge or a tracker call, so
 * `GET /tasks/:id` and `GET /queue` cost a few indexed reads.
 */
export class Waiting {
  constructor(private readonly d: WaitingDeps) {}

  /** The full answer for one task. */
  async forTask(task: Task): Promise<WaitingFor> {
    if (isTerminalStage(task.stage)) return { kind: 'none', sentence: `Nothing: the task is ${task.stage}.`, reasons: [] };
    const view = await this.#view(task);
    const reasons: WaitReason[] = [];
    let kind: string;
    if (task.blockedReason) {
      kind = 'blocked';
      reasons.push({
        kind: 'blocked',
        source: 'core',
        text: `Blocked at ${task.stage} since ${iso(task.blockedAt) ?? 'an unknown time'}: ${task.blockedReason}.`,
        data: { stage: task.stage, reason: task.blockedReason, since: iso(task.blockedAt) },
      });
    } else {
      const job = view.activeJob;
      if (job?.status === 'running') {
        kind = 'running';
        reasons.push(runningReason(job));
      } else if (job) {
        const held = await this.heldBackBy(task, view);
        if (held.length) {
          kind = 'held';
          reasons.push(...held);
        } else if (job.availableAt.getTime() > view.now.getTime()) {
          kind = 'delayed';
          reasons.push(delayedReason(job));
          if (job.kind === 'advance') reasons.push(...(await this.#gateReasons(view)));
        } else {
          kind = 'slot';
          reasons.push({
            kind: 'worker_slot',
            source: 'core',
            text: `Its ${job.role ?? job.kind} job ${job.id} is queued and starts when a worker slot is free (worker.maxConcurrency ${this.d.config.worker.maxConcurrency}).`,
            data: { jobId: job.id, stage: job.stage, role: job.role, maxConcurrency: this.d.config.worker.maxConcurrency },
          });
        }
      } else {
        const gate = await this.#gateReasons(view);
        kind = gate.length ? 'gate' : 'idle';
        reasons.push(
          ...(gate.length
            ? gate
            : [{ kind: 'idle', source: 'core', text: `No job and no gate verdict recorded at ${task.stage} yet; the next event or the reconciler evaluates its exit gates.`, data: { stage: task.stage } }]),
        );
      }
    }
    // Plugins' own waits (a budget stop …) come first: they outrank a queue position.
    const extra = await this.#explainers(view);
    const all = [...extra, ...reasons];
    return { kind: extra[0]?.kind ?? kind, sentence: all.map((r) => r.text).join(' '), reasons: all };
  }

  /**
   * The claim clauses that hold the task's queued job back, each explaining itself.
   * Empty when nothing holds it back. The reconciler asks this to skip tasks that
   * wait on something a clause enforces (dependencies, an earlier task, a freeze).
   */
  async heldBackBy(task: Task, view?: WaitView): Promise<WaitReason[]> {
    const v = view ?? (await this.#view(task));
    const out: WaitReason[] = [];
    for (const clause of this.d.clauses.list()) {
      if (!clause.explain) continue;
      try {
        const r = await clause.explain(v);
        if (r) out.push(r);
      } catch (err) {
        this.d.logger.warn({ clause: clause.name, taskId: task.id, err }, 'claim clause could not explain itself');
        out.push({ kind: 'unknown', source: (clause as { plugin?: string }).plugin ?? clause.name, text: `Claim clause "${clause.name}" could not say whether it holds the task back: ${toError(err).message}.` });
      }
    }
    return out;
  }

  async #view(task: Task): Promise<WaitView> {
    const activeJob = await this.d.stores.jobs.activeForTask(task.id);
    return { task, activeJob, stores: this.d.stores, config: this.d.config, now: new Date(this.d.clock.now()) };
  }

  async #gateReasons(view: WaitView): Promise<WaitReason[]> {
    const wait = await this.d.stores.gateWaits.get(view.task.id);
    if (!wait || wait.stage !== view.task.stage) return [];
    const def = this.d.gates.has(wait.gate) ? this.d.gates.get(wait.gate) : null;
    try {
      if (def?.explain) return [await def.explain(wait, view)];
    } catch (err) {
      this.d.logger.warn({ gate: wait.gate, taskId: view.task.id, err }, 'gate could not explain its wait');
    }
    return [describeGateWait(wait)];
  }

  async #explainers(view: WaitView): Promise<WaitReason[]> {
    const out: WaitReason[] = [];
    for (const e of this.d.explainers.list()) {
      try {
        const r = await e.explain(view);
        if (r) out.push(r);
      } catch (err) {
        this.d.logger.warn({ explainer: e.name, plugin: e.plugin, taskId: view.task.id, err }, 'wait explainer failed');
      }
    }
    return out;
  }
}

function runningReason(job: Job): WaitReason {
  return {
    kind: 'job_running',
    source: 'core',
    text: `Its ${job.role ?? job.kind} job ${job.id} is running at ${job.stage} (attempt ${job.attempt}, since ${iso(job.startedAt) ?? 'just now'}).`,
    data: { jobId: job.id, stage: job.stage, role: job.role, attempt: job.attempt, startedAt: iso(job.startedAt), hostId: job.hostId },
  };
}

function delayedReason(job: Job): WaitReason {
  const at = job.availableAt.toISOString();
  const what = job.kind === 'advance' ? `its exit gates at ${job.stage} are re-evaluated at ${at}` : `its ${job.role ?? 'agent'} job ${job.id} may start again at ${at} (retry ${job.retries})`;
  return { kind: 'delayed', source: 'core', text: `Deferred: ${what}.`, data: { jobId: job.id, kind: job.kind, stage: job.stage, availableAt: at } };
}
