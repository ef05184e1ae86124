import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreTokens, DEFAULT_PIPELINE, type AgentRun, type NotifierPort, type Task } from '@conveyor/core';
import { createTestConveyor, eventually, fakeUsage, RecordingNotifier, testDatabases, type TestConveyor } from '@conveyor/core/testing';
import { createTelegramTrackerPlugin, MAX_TEXT, renderTracker, TelegramLiveTracker, type TelegramPluginOptions } from '../src/index.js';
import { FakeTelegram, fixture } from './fake-telegram.js';

const TOKEN = '123456:TEST-token';
const passing = (stage: string): Record<string, unknown> =>
  ({ review: { review_status: 'approved' }, testing: { tests_status: 'passed' }, 'deploy-staging': { staging_status: 'ok' }, deploy: { deploy_status: 'ok' } })[stage] ?? {};

async function kitWith(t: { after: (fn: () => Promise<void>) => void }, dialect: 'sqlite' | 'pg' | 'sqlite:sqlite3', tg: FakeTelegram, options: TelegramPluginOptions & { config?: Record<string, unknown>; worker?: boolean } = {}): Promise<TestConveyor> {
  const kit = await createTestConveyor({
    dialect,
    plugins: [createTelegramTrackerPlugin(options)],
    agent: (req) => ({ artifact: { frontMatter: passing(req.stage) } }),
    env: { TELEGRAM_BOT_TOKEN: TOKEN },
    config: {
      worker: { enabled: options.worker ?? false },
      plugins: { 'telegram-tracker': { enabled: true, botToken: '${TELEGRAM_BOT_TOKEN}', chatId: '-1001234567890', apiBaseUrl: tg.url, ...(options.config ?? {}) } },
    },
  });
  t.after(() => kit.cleanup());
  return kit;
}

const tracker = (kit: TestConveyor) => kit.conveyor.container.resolve<NotifierPort>(CoreTokens.Notifier) as TelegramLiveTracker;

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} one message per task, sent silently on the first transition and edited in place on every later one; its id on the task; a finish block when done`, async (t) => {
    const tg = await FakeTelegram.start(TOKEN);
    t.after(() => tg.close());
    const kit = await kitWith(t, dialect, tg, { worker: true });
    kit.conveyor.events.on('human.approval_needed', ({ task }) => void kit.conveyor.intake.humanVerdict(task.id, 'approved'));
    kit.conveyor.events.on('job.finished', async ({ job }) => {
      if (job.stage !== 'development') return;
      const task = (await kit.conveyor.store.tasks.get(job.taskId))!;
      await kit.conveyor.intake.ciStatus({ repo: task.repo, sha: (await kit.forge.branchHeadSha(task.repo, task.branch))!, branch: task.branch, context: 'ci', state: 'success', targetUrl: null });
    });
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-1', title: 'Fix login' });
    await kit.events.waitFor('task.done', () => true, 20_000);
    const done = (await kit.conveyor.store.tasks.get(task.id))!;
    const finalText = await eventually(() => {
      const text = tg.messages.get(Number(done.trackerMessageId));
      return text?.includes('✅ Done in') ? text : null;
    }, 5_000, 'the finish block').catch((err: Error) => {
      throw new Error(`${err.message}\n${[...tg.messages.values()].join('\n---\n')}\n${JSON.stringify(kit.logger.lines.filter((l) => l.level !== 'info' && l.level !== 'debug').slice(-5))}`);
    }) as string;
    const trackerSends = tg.of('sendMessage').filter((c) => c.body.disable_notification === true);
    assert.equal(trackerSends.length, 1, 'one tracker message for the whole task');
    assert.equal(done.trackerMessageId, String(4711), 'its id stored on the task');
    // Every update renders the task as it is now (stateless): a fast pipeline queues
    // sixteen updates (created, 7 moves, 7 agent finishes, done), the first sends, the
    // other fifteen edit the same message ("not modified" when nothing changed).
    await eventually(() => tg.of('editMessageText').length === 15, 5_000, 'fifteen edits');
    assert.ok(tg.of('editMessageText').every((c) => c.body.message_id === 4711 && c.body.chat_id === '-1001234567890'));
    assert.ok(finalText.length <= MAX_TEXT);
    assert.match(finalText, /^ET-001 Fix login\nStage: done\n\nanalysis · 6\.3k in \/ 300 out · \$0\.01 · sonnet-4\n/);
    assert.match(finalText, /\ndeploy-staging · 6\.3k in \/ 300 out · \$0\.01 · sonnet-4\n/);
    assert.match(finalText, /\nHuman review: \d+s\n/);
    assert.match(finalText, /\nTotal: 44\.1k in \/ 2\.1k out · \$0\.09\n/);
    assert.match(finalText, /\n✅ Done in \d+s · agents \d+s · human \d+s\nMerged: fake:\/\/acme\/app\/pulls\/1\nArtefacts: fake:\/\/acme\/app\/src\/et-001-fix-login\/docs\/pipeline\/ET-001$/);
    await kit.conveyor.stop();
    const approval = tg.of('sendMessage').filter((c) => c.body.disable_notification === false);
    assert.deepEqual(approval.map((c) => c.body.text), ['ET-001 Fix login: the analysis waits for your verdict (approve or reject).'], 'a notifying message only for what needs a person');
  });

  test(`${t0} a deleted message: the edit fails, a new one is sent and its id stored; "message is not modified" is success`, async (t) => {
    const tg = await FakeTelegram.start(TOKEN);
    t.after(() => tg.close());
    const kit = await kitWith(t, dialect, tg);
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-2', title: 'Fix logout' });
    await eventually(async () => (await kit.conveyor.store.tasks.get(task.id))!.trackerMessageId, 5_000, 'the first message');
    const first = (await kit.conveyor.store.tasks.get(task.id))!;
    await tracker(kit).updateTaskTracker(first);
    assert.equal(tg.of('editMessageText').length, 1);
    assert.equal(tg.of('sendMessage').length, 1, 'the same text again: Telegram says "not modified", nothing new is sent');

    tg.delete(Number(first.trackerMessageId));
    await tracker(kit).updateTaskTracker(first);
    const second = (await kit.conveyor.store.tasks.get(task.id))!;
    assert.equal(tg.of('sendMessage').length, 2);
    assert.equal(second.trackerMessageId, String(Number(first.trackerMessageId) + 1));
    assert.ok(tg.messages.has(Number(second.trackerMessageId)));
  });

  test(`${t0} 429 waits retry_after (the fixture's 35 s, through the injected sleep) and retries; beyond the bound it gives up without a duplicate`, async (t) => {
    const tg = await FakeTelegram.start(TOKEN);
    t.after(() => tg.close());
    const slept: number[] = [];
    const kit = await kitWith(t, dialect, tg, { sleep: async (ms) => void slept.push(ms) });
    tg.failNext('sendMessage', 429, fixture('telegram-429.json'), { 'retry-after': '35' });
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-3', title: 'Rate me' });
    await eventually(async () => (await kit.conveyor.store.tasks.get(task.id))!.trackerMessageId, 5_000, 'the message after the wait');
    assert.deepEqual(slept, [35_000]);
    assert.equal(tg.of('sendMessage').length, 2, 'the refused call and its retry');

    const bounded = await kitWith(t, dialect, tg, { sleep: async (ms) => void slept.push(ms), config: { maxRetryAfterMs: 10_000 } });
    const before = tg.calls.length;
    tg.failNext('sendMessage', 429, fixture('telegram-429.json'), { 'retry-after': '35' });
    const other = await bounded.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'PL-4', title: 'Too slow' });
    await eventually(() => bounded.events.of('listener.error').length > 0 || bounded.logger.lines.some((l) => /Telegram 429/.test(JSON.stringify(l))), 5_000, 'the give-up');
    assert.deepEqual(slept, [35_000], 'no second wait: 35 s is beyond the 10 s bound');
    assert.equal(tg.calls.length - before, 1);
    assert.equal((await bounded.conveyor.store.tasks.get(other.task.id))!.trackerMessageId, null);
  });

  test(`${t0} notifications (a budget stop's alert) are separate, notifying messages; disabled: no listeners and the log notifier stays`, async (t) => {
    const tg = await FakeTelegram.start(TOKEN);
    t.after(() => tg.close());
    const kit = await kitWith(t, dialect, tg, { config: {} });
    await tracker(kit).notify({ kind: 'alert', text: 'ET-009 stopped at development: budget: $5.10 of the $5.00 task budget spent' });
    assert.deepEqual(tg.of('sendMessage').map((c) => [c.body.text, c.body.disable_notification]), [['ET-009 stopped at development: budget: $5.10 of the $5.00 task budget spent', false]]);

    const off = await createTestConveyor({ dialect, plugins: [createTelegramTrackerPlugin()] });
    t.after(() => off.cleanup());
    assert.equal(off.conveyor.extensions.listenerDisposers.length, 0);
    assert.ok(off.conveyor.container.resolve(CoreTokens.Notifier) instanceof RecordingNotifier, 'the default notifier is untouched');
  });
}

test('render: stateless, ≤ 4096 characters however many runs, budget and human time shown', () => {
  const now = new Date(Date.UTC(2026, 0, 1, 12));
  const task = {
    id: 1, repo: 'r', trackerIssueId: '1', workItemId: 'ET-7', title: 'x'.repeat(300), description: '', stage: 'development', branch: 'b', branchCut: true,
    humanVerdict: 'approved', humanReviewStartedAt: new Date(now.getTime() - 3_600_000), humanReviewEndedAt: new Date(now.getTime() - 3_000_000), developerRetries: 0,
    createdAt: new Date(now.getTime() - 7_200_000), updatedAt: now, cancelRequestedAt: null, cancelledAt: null, trackerMessageId: null, blockedReason: null, blockedAt: null,
    blockedKind: null, budgetUsd: 10, stageBudgets: {}, prNumber: 3, prUrl: 'https://git/pr/3', mergeInitiatedAt: null, mergedAt: null, deployConfirmedAt: null,
  } satisfies Task;
  const run = (i: number, stage: string): AgentRun => ({ id: i, jobId: i, taskId: 1, stage, role: 'developer', attempt: 1, pid: 1, startedAt: new Date(0), exitCode: 0, finishedAt: new Date(60_000), result: 'ok', usage: fakeUsage({ costUsd: 0.5, model: `model-${'m'.repeat(i % 40)}` }), logPath: null, permissionDenials: [] });
  const many = Array.from({ length: 400 }, (_, i) => run(i, DEFAULT_PIPELINE.stages[i % 7]!.name));
  const text = renderTracker({ task, runs: many, pipeline: DEFAULT_PIPELINE, budget: { task: { limitUsd: 10, spentUsd: 200, remainingUsd: 0 }, stage: { name: 'development', limitUsd: null, spentUsd: 0, remainingUsd: null }, remainingUsd: 0, exhausted: 'task' }, finishedAt: null, now });
  assert.ok(text.length <= MAX_TEXT, `${text.length}`);
  assert.match(text, /\nHuman review: 10m 0s\n/);
  assert.match(text, /\nBudget: \$200\.00 of \$10\.00 spent, \$0\.00 left\n/);
  assert.match(text, /\nPR: https:\/\/git\/pr\/3$/);
  assert.equal(renderTracker({ task, runs: many, pipeline: DEFAULT_PIPELINE, budget: null, finishedAt: null, now }), renderTracker({ task, runs: many, pipeline: DEFAULT_PIPELINE, budget: null, finishedAt: null, now }));
});
