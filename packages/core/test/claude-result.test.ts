import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { classifyClaudeFailure, parseClaudeOutput } from '../src/agent/claude-result.js';

// Compiled to dist/test; the fixtures stay beside the sources (copied byte for byte
// from what the Claude CLI prints).
const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const fixture = (name: string): string => fs.readFileSync(path.join(fixtures, name), 'utf8');
const success = fixture('claude-result-success.json');

test('every claude-* fixture parses without throwing and is covered below', () => {
  const names = fs.readdirSync(fixtures).filter((n) => n.startsWith('claude-')).sort();
  assert.deepEqual(names, ['claude-result-api-error.json', 'claude-result-error.json', 'claude-result-permission-denied.json', 'claude-result-success.json', 'claude-stream-json-sample.ndjson']);
  for (const n of names) assert.equal(typeof parseClaudeOutput(fixture(n)).ok, 'boolean', n);
});

test('success fixture: result, usage of the main model, session', () => {
  const r = parseClaudeOutput(success);
  assert.equal(r.ok, true);
  assert.equal(r.isError, false);
  assert.equal(r.subtype, 'success');
  assert.match(r.result ?? '', /^Implemented retry/);
  assert.equal(r.errorText, null);
  assert.equal(r.apiErrorStatus, null);
  assert.equal(r.sessionId, '2f7c1e9a-4b3d-4c8e-9a1f-6d5e4c3b2a10');
  // haiku is listed first but sonnet did the work (the biggest cost).
  assert.deepEqual(r.usage, { inputTokens: 41, outputTokens: 9921, cacheReadTokens: 912377, cacheCreationTokens: 38812, costUsd: 0.8731245, model: 'sonnet-4-5-20250929' });
  assert.equal(classifyClaudeFailure(r), null);
});

test('error_max_turns fixture: no result, usage kept, not transient', () => {
  const r = parseClaudeOutput(fixture('claude-result-error.json'));
  assert.equal(r.ok, false);
  assert.equal(r.isError, true);
  assert.equal(r.subtype, 'error_max_turns');
  assert.equal(r.result, null);
  assert.equal(r.errorText, 'error_max_turns: Reached maximum number of turns (40)');
  assert.equal(r.usage?.costUsd, 1.9320481);
  assert.equal(r.usage?.cacheReadTokens, 2103388);
  assert.equal(r.usage?.model, 'sonnet-4-5-20250929');
  assert.deepEqual(classifyClaudeFailure(r), { transient: false, reason: r.errorText });
});

test('API error fixture: subtype success with is_error true is a transient failure', () => {
  const r = parseClaudeOutput(fixture('claude-result-api-error.json'));
  assert.equal(r.ok, false);
  assert.equal(r.isError, true);
  assert.equal(r.subtype, 'success');
  assert.equal(r.result, null, 'the error message is not the agent answer');
  assert.equal(r.errorText, 'API Error: Rate limit reached');
  assert.equal(r.apiErrorStatus, 429);
  assert.deepEqual(r.usage, { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 0, model: null });
  assert.equal(classifyClaudeFailure(r)?.transient, true);
});

test('stream-json fixture: the result line wins over earlier messages', () => {
  const r = parseClaudeOutput(fixture('claude-stream-json-sample.ndjson'));
  assert.equal(r.ok, true);
  assert.equal(r.usage?.outputTokens, 9921);
  assert.equal(r.usage?.model, 'sonnet-4-5-20250929');
});

test('a JSON array of messages (--verbose): the last result element', () => {
  const msgs = fixture('claude-stream-json-sample.ndjson').trim().split('\n').map((l) => JSON.parse(l) as unknown);
  const r = parseClaudeOutput(JSON.stringify([...msgs, { type: 'system', subtype: 'status' }], null, 2));
  assert.equal(r.ok, true);
  assert.equal(r.usage?.inputTokens, 41);
  assert.equal(parseClaudeOutput(JSON.stringify(msgs.slice(0, 3))).usage, null, 'an array without a result');
});

test('noise before and after the JSON, pretty or compact', () => {
  const compact = JSON.stringify(JSON.parse(success));
  for (const out of [
    `Warning: "update available {x}\n${success}\nbye }`,
    `npm notice {\n${compact}\n[done] {"progress": 1}`,
    `prefix text ${compact} trailing text`,
  ]) {
    const r = parseClaudeOutput(out);
    assert.equal(r.ok, true, out.slice(0, 40));
    assert.equal(r.usage?.costUsd, 0.8731245);
  }
});

test('truncated, empty and non-JSON output: usage null, ok false, no throw', () => {
  const cut = JSON.stringify(JSON.parse(success));
  for (const out of [cut.slice(0, cut.length - 30), cut.slice(0, 40), '', '   \n', 'Error: command not found', '{{{{', '}}}{"a":', 'null', '[1,2]', '"text"', '\u0000\u0001']) {
    const r = parseClaudeOutput(out);
    assert.equal(r.ok, false, JSON.stringify(out.slice(0, 30)));
    assert.equal(r.usage, null);
    assert.equal(r.result, null);
    assert.equal(typeof r.errorText, 'string');
    assert.equal(classifyClaudeFailure(r)?.transient, true, 'no result at all reads as a crash');
  }
  assert.equal(parseClaudeOutput(undefined as unknown as string).ok, false);
});

test('numbers as strings are read; non-numeric fields are 0, never NaN', () => {
  const r = parseClaudeOutput(
    JSON.stringify({
      type: 'result', subtype: 'success', is_error: false, result: 'ok', total_cost_usd: '0.5',
      usage: { input_tokens: '12', output_tokens: 'many', cache_read_input_tokens: null, cache_creation_input_tokens: {} },
      modelUsage: { 'anthropic/claude-opus-4-1': { costUSD: 'x' } },
    }),
  );
  assert.deepEqual(r.usage, { inputTokens: 12, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 0.5, model: 'opus-4-1' });
});

test('missing usage: null without cost; old cost_usd still counts', () => {
  assert.equal(parseClaudeOutput('{"type":"result","subtype":"success","is_error":false,"result":"x"}').usage, null);
  const old = parseClaudeOutput('{"type":"result","subtype":"success","is_error":false,"result":"x","cost_usd":0.12}');
  assert.equal(old.ok, true);
  assert.deepEqual(old.usage, { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 0.12, model: null });
});

test('success needs is_error false: a missing flag is not success', () => {
  const r = parseClaudeOutput('{"type":"result","subtype":"success","result":"looks fine"}');
  assert.equal(r.ok, false);
  assert.equal(r.result, null);
});

test('classifyClaudeFailure: transient vs permanent', () => {
  const base = { type: 'result', duration_ms: 1, usage: {} };
  const cls = (o: object) => classifyClaudeFailure(parseClaudeOutput(JSON.stringify({ ...base, ...o })))?.transient;
  assert.equal(cls({ subtype: 'error_during_execution', is_error: true }), true);
  assert.equal(cls({ subtype: 'error_max_turns', is_error: true }), false);
  assert.equal(cls({ subtype: 'error_max_budget_usd', is_error: true }), false);
  assert.equal(cls({ subtype: 'success', is_error: true, api_error_status: 529, result: 'API Error: Overloaded' }), true);
  assert.equal(cls({ subtype: 'success', is_error: true, api_error_status: 500, result: 'boom' }), true);
  assert.equal(cls({ subtype: 'success', is_error: true, api_error_status: 404, result: 'API Error: model not found' }), false);
  assert.equal(cls({ subtype: 'success', is_error: true, result: 'API Error: 529 {"type":"overloaded_error"}' }), true);
  assert.equal(cls({ subtype: 'success', is_error: true, result: 'API Error: 400 invalid model' }), false);
  assert.equal(cls({ subtype: 'success', is_error: true, result: 'Claude AI usage limit reached|1767225600' }), true);
  assert.equal(cls({ subtype: 'success', is_error: true, result: 'Invalid API key · Please run /login' }), false);
  assert.equal(cls({ subtype: 'success', is_error: false, result: 'done' }), undefined);
});

test('permission-denied fixture (the real CLI 2.1.328): success, exit-0 shape, and the refused write listed', () => {
  const r = parseClaudeOutput(fixture('claude-result-permission-denied.json'));
  assert.equal(r.ok, true, 'the CLI calls it a success');
  assert.deepEqual(r.permissionDenials, [{ tool: 'Write', target: '/srv/conveyor/workspaces/demo/et-007/notes.md' }]);
  assert.deepEqual(parseClaudeOutput(success).permissionDenials, []);
  assert.deepEqual(parseClaudeOutput('{"type":"result","subtype":"success","is_error":false,"result":"x","permission_denials":[{"tool_name":"Bash","tool_input":{"command":"rm -rf /"}},{"bad":1},"junk",{"tool_name":"WebFetch"}]}').permissionDenials, [
    { tool: 'Bash', target: 'rm -rf /' },
    { tool: 'WebFetch', target: null },
  ]);
});
