import type { PermissionDenial, TokenUsage } from '../domain.js';
import { shortModelName } from '../usage/usage.js';
import { findLastMessage, isJsonObject, type JsonObject } from './json-scan.js';

/** What Conveyor reads from one Claude Code CLI run's stdout. */
export interface ClaudeResult {
  /** True only when the CLI said so: `is_error: false` with subtype `success`. */
  ok: boolean;
  /** The CLI's own `is_error` (or an `error_*` subtype). */
  isError: boolean;
  /** `success`, `error_max_turns`, `error_during_execution`, …; null when no result message was found. */
  subtype: string | null;
  /** The agent's final answer; null unless `ok`. */
  result: string | null;
  /** null when the output held no result message with usage or cost (garbage, crash). */
  usage: TokenUsage | null;
  sessionId: string | null;
  /** Why the run is not `ok`, in the CLI's words where it gave some. */
  errorText: string | null;
  /** HTTP status of the failed API call (CLI ≥ 2.1.110), when given. */
  apiErrorStatus: number | null;
  /**
   * Tool calls the CLI refused (`permission_denials`): a run can report `success`
   * while none of its writes happened.
   */
  permissionDenials: PermissionDenial[];
}

/** Whether a failed run is worth retrying, and a short reason for the job's error. */
export interface ClaudeFailure {
  transient: boolean;
  reason: string;
}

function isResultMessage(o: JsonObject): boolean {
  if (o.type === 'result') return true;
  // Hand-written captures and very old CLIs sometimes drop `type`; the other keys still identify it.
  return o.type === undefined && ('is_error' in o || 'subtype' in o);
}

// Counts and costs feed sums in reports: a "12" string is 12 and anything odd is 0, never NaN.
function num(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : 0;
}

function optionalInt(value: unknown): number | null {
  const n = num(value);
  return Number.isInteger(n) && n > 0 ? n : null;
}

function bool(value: unknown): boolean | null {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * The model that did the work: the most expensive entry of `modelUsage` (the
 * CLI also bills a small model for titles and summaries), the first on a tie.
 */
function mainModel(modelUsage: unknown): string | null {
  if (!isJsonObject(modelUsage)) return null;
  let best: { name: string; cost: number; tokens: number } | null = null;
  for (const [name, entry] of Object.entries(modelUsage)) {
    const e = isJsonObject(entry) ? entry : {};
    const cost = num(e.costUSD);
    const tokens = num(e.inputTokens) + num(e.outputTokens) + num(e.cacheReadInputTokens) + num(e.cacheCreationInputTokens);
    if (!best || cost > best.cost || (cost === best.cost && tokens > best.tokens)) best = { name, cost, tokens };
  }
  return best ? shortModelName(best.name) : null;
}

/** Token usage and cost of a result message; null when it carries neither. */
export function claudeUsage(message: JsonObject): TokenUsage | null {
  const u = isJsonObject(message.usage) ? message.usage : null;
  // `cost_usd` is the pre-2.x name; captures in old issues still use it.
  const cost = message.total_cost_usd ?? message.cost_usd;
  if (!u && (cost === undefined || cost === null)) return null;
  return {
    inputTokens: num(u?.input_tokens),
    outputTokens: num(u?.output_tokens),
    cacheReadTokens: num(u?.cache_read_input_tokens),
    cacheCreationTokens: num(u?.cache_creation_input_tokens),
    costUsd: num(cost),
    model: mainModel(message.modelUsage),
  };
}

const TARGET_KEYS = ['file_path', 'notebook_path', 'path', 'command', 'url', 'pattern'] as const;

/** `[{ tool_name: 'Write', tool_input: { file_path } }]` → `[{ tool: 'Write', target: file_path }]`; junk entries dropped. */
export function permissionDenials(value: unknown): PermissionDenial[] {
  if (!Array.isArray(value)) return [];
  const out: PermissionDenial[] = [];
  for (const d of value) {
    if (!isJsonObject(d)) continue;
    const tool = str(d.tool_name);
    if (!tool) continue;
    const input = isJsonObject(d.tool_input) ? d.tool_input : {};
    const key = TARGET_KEYS.find((k) => typeof input[k] === 'string');
    // A shell command can be long; the record needs what it was, not all of it.
    const target = key ? String(input[key]).slice(0, 300) : null;
    out.push({ tool, target });
  }
  return out;
}

function errorTextOf(message: JsonObject, subtype: string | null, isError: boolean | null): string {
  const errors = Array.isArray(message.errors) ? message.errors.filter((e): e is string => typeof e === 'string' && e.trim() !== '') : [];
  if (subtype && subtype !== 'success') return errors.length ? `${subtype}: ${errors.join('; ')}` : subtype;
  const text = str(message.result)?.trim();
  if (isError === null) return 'result message has no is_error flag';
  return text || errors.join('; ') || `is_error with subtype ${subtype ?? 'unknown'}`;
}

function noResult(errorText: string): ClaudeResult {
  return { ok: false, isError: false, subtype: null, result: null, usage: null, sessionId: null, errorText, apiErrorStatus: null, permissionDenials: [] };
}

/**
 * Reads the CLI's stdout leniently: one JSON object, a JSON array of messages
 * (`--verbose`), NDJSON (`stream-json`), or any of these with noise around it;
 * the last result message wins. Never throws: garbage, empty or truncated output
 * gives `ok: false` and `usage: null`.
 */
export function parseClaudeOutput(stdout: string): ClaudeResult {
  try {
    const text = typeof stdout === 'string' ? stdout : '';
    if (!text.trim()) return noResult('empty output');
    const message = findLastMessage(text, isResultMessage);
    if (!message) return noResult('no result message in output');
    const subtype = str(message.subtype);
    const flag = bool(message.is_error);
    // API failures arrive as subtype "success" with is_error true (claude-code#79500): the flag decides.
    const ok = flag === false && (subtype === null || subtype === 'success');
    const isError = flag === true || (subtype !== null && subtype.startsWith('error'));
    return {
      ok,
      isError,
      subtype,
      result: ok ? str(message.result) : null,
      usage: claudeUsage(message),
      sessionId: str(message.session_id),
      errorText: ok ? null : errorTextOf(message, subtype, flag),
      apiErrorStatus: optionalInt(message.api_error_status),
      permissionDenials: permissionDenials(message.permission_denials),
    };
  } catch (err) {
    // Unreachable with JSON.parse output, but a parser that can throw would crash a worker.
    return noResult(`unreadable output: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Subtypes that a retry would only repeat, spending the same budget again. */
const PERMANENT_SUBTYPES = new Set(['error_max_turns', 'error_max_budget_usd', 'error_max_structured_output_retries']);

const TRANSIENT_TEXT = /rate.?limit|overloaded|usage limit|api error|timed? ?out|timeout|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|socket hang up|network|fetch failed|internal server error|service unavailable|bad gateway/i;

function transientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Whether a failed run is worth retrying: API errors, rate limits, overload,
 * HTTP 408/429/5xx, `error_during_execution`, and output with no result message
 * at all (a crash). Hitting `--max-turns` or `--max-budget-usd`, a 4xx other than
 * 408/429, or an unknown error is not: retrying would repeat it. Returns null
 * for an `ok` result.
 */
export function classifyClaudeFailure(r: ClaudeResult): ClaudeFailure | null {
  if (r.ok) return null;
  const reason = r.errorText ?? r.subtype ?? 'claude run failed';
  if (r.subtype === null && !r.isError) return { transient: true, reason };
  if (r.subtype === 'error_during_execution') return { transient: true, reason };
  if (r.subtype && PERMANENT_SUBTYPES.has(r.subtype)) return { transient: false, reason };
  const status = r.apiErrorStatus ?? statusInText(r.errorText);
  if (status !== null) return { transient: transientStatus(status), reason: r.apiErrorStatus !== null ? `${reason} (HTTP ${status})` : reason };
  if ((r.subtype === null || r.subtype === 'success') && r.errorText && TRANSIENT_TEXT.test(r.errorText)) return { transient: true, reason };
  return { transient: false, reason };
}

// Older CLIs put the status only in the text: "API Error: 529 {…overloaded…}".
function statusInText(text: string | null): number | null {
  const m = text ? /API Error:?\s*(\d{3})\b/i.exec(text) : null;
  return m?.[1] ? Number(m[1]) : null;
}
