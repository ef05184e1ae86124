import { defer, fail, pass, pending, toError, type AgentSandbox, type EventBus, type GateDefinition, type LeaseStore, type Logger } from '@conveyor/core';
import { PremergeCheckout, originUrl, type PremergeRepo } from './premerge.js';
import { retest } from './retest.js';
import type { RetestStore } from './retest-store.js';

/** What the gate needs, handed over by the plugin's `register`. */
export interface MergeGateDeps {
  leases: LeaseStore;
  retests: RetestStore;
  events: Pick<EventBus, 'emit'>;
  logger: Logger;
  inScope(repo: string): boolean;
  repo(name: string): (PremergeRepo & { testCommand?: string }) | null;
  holder: { hostId: string; pid: number };
  author: { name: string; email: string };
  sandbox?: AgentSandbox;
  settings: { premergeRebaseAlways: boolean; retestAttempts: number; leaseTtlMs: number; busyDelayMs: number; retestTimeoutMs: number };
}

/**
 * `merge_gate`, spliced on `deploy-staging → deploy`: take the repo's merge lease,
 * rebase the task branch onto the current main in a repository only Conveyor
 * controls, push it (task branch only, `--force-with-lease`), re-test the combined
 * tree, and record the sha that passed. Pass keeps the lease until the task leaves
 * `deploy`; a conflict or a red re-test releases it and fails (rollback to development).
 */
export function mergeGate(d: MergeGateDeps): GateDefinition {
  return {
    name: 'merge_gate',
    description: 'Under the repo\'s merge lease, the task branch is rebased onto the current main and its re-test passes.',
    sideEffects: true,
    async check(ctx) {
      const task = ctx.task;
      if (!d.inScope(task.repo)) return pass();
      const repo = d.repo(task.repo);
      if (!repo?.url) return pending(`repos.${task.repo}.url is not configured: merge-gate cannot rebase`);
      const holder = { taskId: task.id, ...d.holder };
      if (!(await d.leases.acquire(task.repo, holder, d.settings.leaseTtlMs))) {
        const lease = await d.leases.get(task.repo);
        d.events.emit('merge.deferred', { taskId: task.id, repo: task.repo, holder: lease ? `task ${lease.taskId}` : null });
        return defer(`the merge lease of ${task.repo} is held by ${lease ? `task ${lease.taskId}` : 'another task'}`, d.settings.busyDelayMs);
      }
      const release = async (why: string) => {
        if (await d.leases.release(task.repo, task.id)) d.logger.info({ taskId: task.id, repo: task.repo, why }, 'merge lease released');
      };
      let co: PremergeCheckout | null = null;
      try {
        co = await PremergeCheckout.create({ ...repo, url: originUrl(repo.url) }, task.branch);
        const rebased = await co.rebase(d.settings.premergeRebaseAlways, d.author);
        if (rebased.kind === 'conflict') {
          await release('rebase conflict');
          return fail(`${task.branch} does not rebase cleanly onto ${repo.mainBranch} (${rebased.main.slice(0, 12)})`, rebased.output);
        }
        if (rebased.kind === 'rebased') await co.push(rebased.before, rebased.sha);
        const sha = rebased.sha;
        if (!repo.testCommand) {
          d.logger.warn({ taskId: task.id, repo: task.repo, sha }, 'no repos.<repo>.testCommand: the combined tree is not re-tested');
          await d.retests.record(task.id, task.repo, sha, { passed: true, flaky: false, attempts: [{ attempt: 0, exitCode: 0, timedOut: false, output: 'no test command configured' }] });
          return pass();
        }
        const result = await retest({ command: repo.testCommand, dir: co.dir, attempts: d.settings.retestAttempts + 1, timeoutMs: d.settings.retestTimeoutMs, ...(d.sandbox ? { sandbox: d.sandbox } : {}) });
        await d.retests.record(task.id, task.repo, sha, result);
        if (!result.passed) {
          await release('red re-test');
          const last = result.attempts.at(-1)!;
          return fail(`the re-test of ${task.branch} on ${repo.mainBranch} failed ${result.attempts.length} time(s) (${last.timedOut ? 'timed out' : `exit ${last.exitCode}`})`, last.output);
        }
        if (result.flaky) {
          d.logger.warn({ taskId: task.id, repo: task.repo, sha, attempts: result.attempts.length }, 'the re-test passed only on a retry: flaky');
          d.events.emit('merge.flaky', { taskId: task.id, repo: task.repo, sha, attempts: result.attempts.length });
        }
        return pass();
      } catch (err) {
        // Git or the machine failed, not the change: try again later without the lease
        // (capped by the edge's defer limit), so other tasks can land meanwhile.
        await release('merge-gate error');
        const e = toError(err);
        d.logger.warn({ taskId: task.id, repo: task.repo, err: e }, 'merge-gate could not rebase or re-test; deferring');
        return defer(`merge-gate could not rebase or re-test: ${e.message}`, d.settings.busyDelayMs);
      } finally {
        co?.dispose();
      }
    },
  };
}
