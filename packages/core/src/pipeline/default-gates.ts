import type { CiStatus } from '../domain.js';
import { fail, pass, pending, type GateContext, type GateDefinition, type GateResult } from './gate.js';
import { gateWaitData } from '../waiting/gate-wait-text.js';

/** Reads one front-matter key of the stage's artefact and compares it to the passing value. */
function verdictKeyGate(name: string, description: string, key: string, passing: string, stage?: string): GateDefinition {
  return {
    name,
    description,
    async check(ctx) {
      const artifact = await ctx.artifacts.read(ctx.task, stage ?? ctx.stage);
      if (!artifact) return fail(`no ${stage ?? ctx.stage} artefact in branch ${ctx.task.branch}`);
      const value = artifact.frontMatter[key];
      if (value === passing) return pass();
      if (value === undefined) return fail(`artefact ${artifact.path} has no "${key}" in its front matter`, artifact.body);
      return fail(`${key} is "${String(value)}" in ${artifact.path}`, artifact.body);
    },
  };
}

/** Combines the latest state of each CI context, the way forges do. */
export function combineCi(statuses: readonly CiStatus[]): GateResult {
  if (statuses.length === 0) return pending('no CI status yet');
  const failed = statuses.filter((s) => s.state === 'failure' || s.state === 'error');
  if (failed.length) {
    return fail(
      `CI failed: ${failed.map((s) => s.context).join(', ')}`,
      failed.map((s) => `${s.context}: ${s.state}${s.targetUrl ? ` (${s.targetUrl})` : ''}`).join('\n'),
    );
  }
  if (statuses.some((s) => s.state === 'pending')) return pending(`CI running: ${statuses.filter((s) => s.state === 'pending').map((s) => s.context).join(', ')}`);
  return pass();
}

export const agentSucceeded: GateDefinition = {
  name: 'agent_succeeded',
  description: "The stage's latest agent run exited 0 and produced a result.",
  async check(ctx: GateContext) {
    const run = await ctx.agentRuns.latestForStage(ctx.task.id, ctx.stage);
    if (!run) return fail(`no agent run recorded for stage ${ctx.stage}`);
    if (run.exitCode === null) return pending(`agent run ${run.id} has not exited`);
    if (run.exitCode !== 0) return fail(`agent exited with code ${run.exitCode}`);
    if (run.result === null) return fail('agent exited 0 without a result');
    return pass();
  },
};

export const humanApproved: GateDefinition = {
  name: 'human_approved',
  description: 'A person moved the issue to Approved.',
  async check(ctx) {
    if (ctx.task.humanVerdict === 'approved') return pass();
    if (ctx.task.humanVerdict === 'rejected') return fail('rejected by a person');
    return pending('waiting for Approved or Rejected');
  },
  explain(wait, view) {
    const { approved, rejected } = view.config.statuses;
    const since = (view.task.humanReviewStartedAt ?? wait.since).toISOString();
    return {
      kind: wait.verdict === 'pending' ? 'human_approval' : 'gate_failed',
      source: 'core',
      text:
        wait.verdict === 'pending'
          ? `Waits for a person's verdict on the analysis since ${since}: move the tracker issue to "${approved}" (or "${rejected}" with a comment), or with the local tracker run \`conveyor task approve ${view.task.id}\` (or \`conveyor task reject ${view.task.id} -m "…"\`).`
          : `The analysis was ${wait.reason ?? 'not approved'} (since ${wait.since.toISOString()}); the analyst runs again.`,
      data: { ...gateWaitData(wait), approveStatus: approved, rejectStatus: rejected, command: `conveyor task approve ${view.task.id}` },
    };
  },
};

export const artifactPresent: GateDefinition = {
  name: 'artifact_present',
  description: "The stage's artefact exists in the task branch.",
  async check(ctx) {
    const artifact = await ctx.artifacts.read(ctx.task, ctx.stage);
    return artifact ? pass() : fail(`no ${ctx.stage} artefact in branch ${ctx.task.branch}`);
  },
};

export const ciGreen: GateDefinition = {
  name: 'ci_green',
  description: 'The latest CI status of the branch head is success.',
  async check(ctx) {
    if (!ctx.forge) return pending('no forge configured to read the branch head');
    const sha = await ctx.forge.branchHeadSha(ctx.task.repo, ctx.task.branch);
    if (!sha) return pending(`branch ${ctx.task.branch} is not on the forge yet`);
    const result = combineCi(await ctx.ciStatuses.forSha(ctx.task.repo, sha));
    return result.verdict === 'pending' ? pending(`${result.reason} for ${sha.slice(0, 10)}`) : result;
  },
  explain(wait, view) {
    const failed = wait.verdict === 'fail';
    return {
      kind: failed ? 'gate_failed' : 'gate_pending',
      source: 'core',
      text: failed
        ? `Gate "ci_green" failed at ${wait.stage} since ${wait.since.toISOString()}: ${wait.reason ?? 'CI failed'}; a new push to ${view.task.branch} with green CI satisfies it.`
        : `Waits for CI on branch ${view.task.branch} since ${wait.since.toISOString()}${wait.reason ? ` (${wait.reason})` : ''}; a success status for the branch head satisfies gate "ci_green".`,
      data: { ...gateWaitData(wait), branch: view.task.branch },
    };
  },
};

export const reviewApproved = verdictKeyGate('review_approved', 'The review artefact says review_status: approved.', 'review_status', 'approved');
export const testsPassed = verdictKeyGate('tests_passed', 'The testing artefact says tests_status: passed.', 'tests_status', 'passed');
export const stagingDeployed = verdictKeyGate('staging_deployed', 'The deploy-staging artefact says staging_status: ok.', 'staging_status', 'ok');
export const deployStatus = verdictKeyGate('deploy_status', 'The deploy artefact says deploy_status: ok.', 'deploy_status', 'ok');

export const DEFAULT_GATES: readonly GateDefinition[] = [
  agentSucceeded,
  humanApproved,
  artifactPresent,
  ciGreen,
  reviewApproved,
  testsPassed,
  stagingDeployed,
  deployStatus,
];
