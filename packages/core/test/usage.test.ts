import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentRun } from '../src/domain.js';
import { finishLine, formatCostSummary, formatTokens, fullInput, shortModelName, summarizeCosts } from '../src/usage/usage.js';

const run = (role: string, usage: AgentRun['usage']): AgentRun => ({
  id: 1, jobId: 1, taskId: 1, stage: 's', role, attempt: 1, pid: 1, startedAt: new Date(), exitCode: 0, finishedAt: new Date(), result: 'ok', usage, logPath: null, permissionDenials: [],
});

test('full input counts cached tokens; the finish line shows it', () => {
  const u = { inputTokens: 200, outputTokens: 12_100, cacheReadTokens: 40_000, cacheCreationTokens: 5_000, costUsd: 0.2149, model: 'sonnet-4-5' };
  assert.equal(fullInput(u), 45_200);
  assert.equal(finishLine('developer', u), 'Developer done · 45.2k in / 12.1k out · $0.21');
  assert.equal(finishLine('tester', null), 'Tester done · usage unknown');
});

test('model names are shortened: provider prefix and claude- stripped', () => {
  assert.equal(shortModelName('claude-sonnet-4-5-20250929'), 'sonnet-4-5-20250929');
  assert.equal(shortModelName('anthropic/claude-opus-4-1'), 'opus-4-1');
  assert.equal(shortModelName('bedrock/us.anthropic/claude-haiku-4'), 'haiku-4');
  assert.equal(shortModelName('gpt-5'), 'gpt-5');
  assert.equal(shortModelName(null), null);
  assert.equal(formatTokens(950), '950');
  assert.equal(formatTokens(1_250_000), '1.3M');
});

test('the per-task summary sums runs per role and names runs without usage', () => {
  const s = summarizeCosts([
    run('analyst', { inputTokens: 10, outputTokens: 100, cacheReadTokens: 990, cacheCreationTokens: 0, costUsd: 0.1, model: 'opus-4' }),
    run('developer', { inputTokens: 20, outputTokens: 200, cacheReadTokens: 1980, cacheCreationTokens: 0, costUsd: 0.25, model: 'sonnet-4' }),
    run('developer', { inputTokens: 30, outputTokens: 300, cacheReadTokens: 2970, cacheCreationTokens: 0, costUsd: 0.35, model: 'sonnet-4' }),
    run('developer', null),
  ]);
  assert.deepEqual(s.perRole.map((r) => [r.role, r.runs, r.fullInputTokens, r.outputTokens, Number(r.costUsd.toFixed(2))]), [
    ['analyst', 1, 1000, 100, 0.1],
    ['developer', 3, 5000, 500, 0.6],
  ]);
  assert.equal(Number(s.total.costUsd.toFixed(2)), 0.7);
  assert.equal(s.unknownRuns, 1);
  const text = formatCostSummary('ET-007', s);
  assert.match(text, /^ET-007 cost summary\n- Analyst ×1: 1\.0k in \(990 cached\) \/ 100 out · \$0\.10 · opus-4\n- Developer ×3: 5\.0k in/);
  assert.match(text, /Total: 6\.0k in \(5\.9k cached\) \/ 600 out · \$0\.70\n\(1 run without readable usage\)$/);
});
