import { ConveyorError } from '../errors.js';

/** One step of the pipeline. The pipeline is data; the engine interprets it. */
export interface StageDefinition {
  readonly name: string;
  /** Agent role run at this stage; none for sinks. */
  readonly agent?: string;
  /** Gates on the exit edge, in order; the first non-pass decides. */
  readonly exitGates: readonly string[];
  /** True where a person's verdict (Approved/Rejected) gates the exit. */
  readonly humanGate?: boolean;
  /** Where a failing gate sends the task: gate name → stage (the developer retry path). */
  readonly rollbackTo?: Readonly<Record<string, string>>;
}

export interface Pipeline {
  readonly stages: readonly StageDefinition[];
}

/**
 * The default pipeline: analysis → architecture → development → review →
 * testing → deploy-staging → deploy → done. Review, testing and CI failures roll
 * back to development with the failing gate's output as the developer's brief.
 */
export const DEFAULT_PIPELINE: Pipeline = deepFreezePipeline({
  stages: [
    { name: 'analysis', agent: 'analyst', exitGates: ['agent_succeeded', 'artifact_present', 'human_approved'], humanGate: true },
    { name: 'architecture', agent: 'architect', exitGates: ['agent_succeeded', 'artifact_present'] },
    { name: 'development', agent: 'developer', exitGates: ['agent_succeeded', 'ci_green'], rollbackTo: { ci_green: 'development' } },
    { name: 'review', agent: 'reviewer', exitGates: ['agent_succeeded', 'review_approved'], rollbackTo: { review_approved: 'development' } },
    { name: 'testing', agent: 'tester', exitGates: ['agent_succeeded', 'tests_passed'], rollbackTo: { tests_passed: 'development' } },
    { name: 'deploy-staging', agent: 'deployer', exitGates: ['agent_succeeded', 'staging_deployed'] },
    { name: 'deploy', agent: 'deployer', exitGates: ['agent_succeeded', 'deploy_status', 'pr_merged'], rollbackTo: { pr_merged: 'development' } },
    { name: 'done', exitGates: [] },
  ],
});

/** The sinks. `cancelled` is reachable from any stage (cancel plugin), never by advance. */
export const SINK_STAGES = ['done', 'cancelled'] as const;

function deepFreezePipeline(p: Pipeline): Pipeline {
  for (const s of p.stages) {
    Object.freeze(s.exitGates);
    if (s.rollbackTo) Object.freeze(s.rollbackTo);
    Object.freeze(s);
  }
  Object.freeze(p.stages);
  return Object.freeze(p);
}

/** Checks a pipeline's shape; throws naming the first problem. */
export function validatePipeline(p: Pipeline): Pipeline {
  const names = new Set<string>();
  if (p.stages.length < 2) throw new ConveyorError('CONVEYOR_PIPELINE_INVALID', 'a pipeline needs at least one working stage and "done"');
  for (const s of p.stages) {
    if (names.has(s.name)) throw new ConveyorError('CONVEYOR_PIPELINE_INVALID', `stage "${s.name}" appears twice`);
    if (s.name === 'cancelled') throw new ConveyorError('CONVEYOR_PIPELINE_INVALID', '"cancelled" is a sink reached only by cancelling; do not list it');
    names.add(s.name);
  }
  const last = p.stages[p.stages.length - 1]!;
  if (last.name !== 'done') throw new ConveyorError('CONVEYOR_PIPELINE_INVALID', `the last stage must be "done", found "${last.name}"`);
  for (const s of p.stages) {
    for (const [gate, target] of Object.entries(s.rollbackTo ?? {})) {
      if (!names.has(target) || target === 'done') {
        throw new ConveyorError('CONVEYOR_PIPELINE_INVALID', `stage "${s.name}" rolls back on "${gate}" to unknown stage "${target}"`);
      }
    }
    if (s.name !== 'done' && !s.agent) throw new ConveyorError('CONVEYOR_PIPELINE_INVALID', `stage "${s.name}" has no agent`);
  }
  return deepFreezePipeline(structuredClone(p) as Pipeline);
}

export function stageIndex(p: Pipeline, stage: string): number {
  return p.stages.findIndex((s) => s.name === stage);
}

export function stageDef(p: Pipeline, stage: string): StageDefinition | undefined {
  return p.stages.find((s) => s.name === stage);
}

/** The stage after `stage`, or null for sinks. */
export function nextStage(p: Pipeline, stage: string): string | null {
  const i = stageIndex(p, stage);
  if (i < 0 || i >= p.stages.length - 1) return null;
  return p.stages[i + 1]!.name;
}

export function firstStage(p: Pipeline): StageDefinition {
  return p.stages[0]!;
}
