import { artifactPath, fail, pass, pending, runProcess, sandboxed, stageIndex, toError, type AgentSandbox, type GateDefinition, type Logger, type NotifierPort, type Pipeline } from '@conveyor/core';
import { PremergeCheckout, originUrl, type PremergeRepo } from '@conveyor/plugin-merge-gate';
import type { CoverageStore } from './baseline-store.js';
import { readCoverage } from './readers.js';
import { coverageReport } from './report.js';
import { coverageVerdict, type CoverageMode } from './verdict.js';

export interface CoverageSettings {
  mode: CoverageMode;
  minimum: number;
  epsilon: number;
  failClosed: boolean;
  timeoutMs: number;
}

export interface CoverageGateDeps {
  store: CoverageStore;
  logger: Logger;
  pipeline: Pipeline;
  inScope(repo: string): boolean;
  repo(name: string): (PremergeRepo & { coverageCommand?: string; coverageReport?: string }) | null;
  author: { name: string; email: string };
  notifier(): NotifierPort | null;
  sandbox?: AgentSandbox;
  settings: CoverageSettings;
}

/** The stage whose exit edge the gate sits on (after merge-gate). */
export const COVERAGE_STAGE = 'deploy-staging';

/**
 * `coverage_gate`: measures line coverage of the task branch's head (the rebased
 * head merge-gate pushed) with the repo's coverage command, judges it against the
 * minimum and the repo's baseline, commits `<NN>-coverage-report.md` to the branch,
 * and alerts on fail. A tool error fails open (or closed, if configured).
 */
export function coverageGate(d: CoverageGateDeps): GateDefinition {
  return {
    name: 'coverage_gate',
    description: "Line coverage of the branch head is not below the minimum or the repo's baseline (minus epsilon).",
    sideEffects: true,
    async check(ctx) {
      const task = ctx.task;
      if (!d.inScope(task.repo)) return pass();
      const repo = d.repo(task.repo);
      if (!repo?.url) return pending(`repos.${task.repo}.url is not configured: coverage-gate cannot check the branch out`);
      if (!repo.coverageCommand) {
        d.logger.warn({ taskId: task.id, repo: task.repo }, 'no plugins.coverage-gate.commands entry for this repo: coverage not measured');
        return pass();
      }
      const s = d.settings;
      let co: PremergeCheckout | null = null;
      try {
        co = await PremergeCheckout.create({ ...repo, url: originUrl(repo.url) }, task.branch);
        const head = await co.checkout();
        await d.sandbox?.resolve();
        const inv = sandboxed(d.sandbox?.forRun({ cwd: co.dir, readWrite: [], readOnly: [] }), { command: repo.coverageCommand, args: [], shell: true });
        const run = await runProcess({ command: inv.command, args: inv.args, shell: inv.shell, cwd: co.dir, timeoutMs: s.timeoutMs });
        const reading = run.exitCode === 0 && !run.timedOut ? readCoverage(co.dir, repo.coverageReport) : { error: `the coverage command ${run.timedOut ? 'timed out' : `exited ${run.exitCode}`}: ${`${run.stderr}`.trim().slice(-500)}` };
        const value = 'percent' in reading ? reading.percent : null;
        const baseline = (await d.store.baseline(task.repo))?.value ?? null;
        const verdict = coverageVerdict({ value, baseline, mode: s.mode, minimum: s.minimum, epsilon: s.epsilon, failClosed: s.failClosed });
        if ('error' in reading) d.logger.warn({ taskId: task.id, repo: task.repo, error: reading.error }, `coverage not measured; ${verdict.status === 'fail' ? 'failing (fail-closed)' : 'passing (fail-open)'}`);
        const file = artifactPath(task.workItemId, stageIndex(d.pipeline, COVERAGE_STAGE), 'coverage-report');
        const body = coverageReport({ verdict, value, baseline, mode: s.mode, minimum: s.minimum, sha: head, detail: 'error' in reading ? reading.error : null });
        const sha = await co.commitFiles({ [file]: body }, `coverage: ${task.workItemId} ${verdict.status}`, d.author);
        await co.push(head, sha);
        await d.store.record({ taskId: task.id, repo: task.repo, sha: head, value, baseline, status: verdict.status, mode: s.mode, reason: verdict.reason });
        if (verdict.status === 'fail') {
          await d.notifier()?.notify({ kind: 'alert', task, text: `coverage-gate: ${task.workItemId} on ${task.repo}: ${verdict.reason}.` });
          return fail(verdict.reason, body);
        }
        return pass();
      } catch (err) {
        const e = toError(err);
        d.logger.warn({ taskId: task.id, repo: task.repo, err: e }, 'coverage-gate could not measure');
        return s.failClosed ? fail(`coverage-gate could not measure: ${e.message}`) : pass();
      } finally {
        co?.dispose();
      }
    },
  };
}
