import type { ConveyorConfig } from '../config/resolve-config.js';
import type { Logger } from '../logger.js';
import type { TaskStore } from '../persistence/ports.js';
import { artifactPath } from '../ports/artifact-reader.js';
import type { Ports } from '../ports/ports.js';
import { stageIndex, type Pipeline } from '../pipeline/pipeline.js';
import type { Finalizer } from '../queue/finalizers.js';
import type { Outbox } from '../outbox/outbox.js';
import { finishLine } from '../usage/usage.js';
import { describeDenials } from '../agent/permission-denials.js';

export interface CoreFinalizerDeps {
  ports: Ports;
  tasks: TaskStore;
  pipeline: Pipeline;
  config: ConveyorConfig;
  logger: Logger;
  outbox: Outbox;
}

/**
 * Core's finalization, in the order of spec 01 §5 (after the exit code and usage
 * are recorded): commit and push the branch, open or update the PR, post the
 * tracker's finish comment. Each step is skipped when its port is not bound.
 * A failing push or PR throws (the attempt is retried: an unpushed stage is not
 * finished); a failing comment is logged and left to the outbox. Each step is safe
 * to run again after a crash: the push of the same tree is a no-op, the forge keeps
 * one PR per branch, the comment is keyed by (task, stage, run).
 */
export function coreFinalizers(d: CoreFinalizerDeps): Finalizer[] {
  return [
    {
      plugin: 'core',
      name: 'commit-and-push',
      async run(ctx) {
        const ws = d.ports.workspace();
        if (!ws?.commitAndPush) return;
        const message = `${ctx.job.role ?? 'agent'}: ${ctx.task.workItemId} ${ctx.job.stage}\n\n${ctx.task.title}`;
        const out = await ws.commitAndPush(ctx.task, message);
        ctx.state.headSha = out.sha;
      },
    },
    {
      plugin: 'core',
      name: 'pull-request',
      async run(ctx) {
        const forge = d.ports.forge();
        if (!forge || !ctx.state.headSha) return;
        const base = d.config.repos[ctx.task.repo]?.mainBranch ?? 'main';
        const pr = await forge.ensurePullRequest({
          repo: ctx.task.repo,
          head: ctx.task.branch,
          base,
          title: `${ctx.task.workItemId}: ${ctx.task.title}`,
          body: `Carried by Conveyor through the pipeline.\n\n${ctx.task.description}`.trim(),
        });
        ctx.state.pullRequest = pr;
        if (ctx.task.prNumber !== pr.number) await d.tasks.setPullRequest(ctx.task.id, pr.number, pr.url);
      },
    },
    {
      plugin: 'core',
      name: 'finish-comment',
      async run(ctx) {
        const tracker = d.ports.tracker();
        if (!tracker) return;
        const file = artifactPath(ctx.task.workItemId, stageIndex(d.pipeline, ctx.job.stage), ctx.job.stage);
        // A run whose writes were all denied still says "success": link the artefact
        // only once it is really in the branch, and say so when it is not.
        const artifact = await d.ports.artifacts().read(ctx.task, ctx.job.stage).catch(() => null);
        const denied = ctx.run.permissionDenials;
        const lines = [finishLine(ctx.job.role ?? 'agent', ctx.run.usage, artifact ? true : 'finished without its artefact')];
        const forge = d.ports.forge();
        if (!artifact) lines.push(`Artefact: not written (expected ${file})`);
        else if (forge && ctx.state.headSha) lines.push(`Artefact: ${forge.publicUrl(ctx.task.repo, file, ctx.task.branch)}`);
        if (denied.length) lines.push(`Refused tool calls: ${denied.length} (${describeDenials(denied)})`);
        if (ctx.state.pullRequest) lines.push(`PR: ${ctx.state.pullRequest.url}`);
        // One comment per (task, stage, agent run): a recovery that runs this
        // finalizer again finds the stored row and posts nothing; a tracker that is
        // down gets the comment later from the outbox, never twice.
        const run = await d.outbox.perform({
          taskId: ctx.task.id,
          effect: 'tracker.comment',
          key: `finish-comment:task-${ctx.task.id}:${ctx.job.stage}:job-${ctx.run.jobId}:attempt-${ctx.run.attempt}`,
          payload: { body: lines.join('\n') },
        });
        if (run.ran && !run.ok) d.logger.warn({ taskId: ctx.task.id, err: run.error }, 'finish comment failed; it will be posted later');
      },
    },
  ];
}
