import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseClaudeOutput, runProcess } from '@conveyor/core';
import { DEFAULT_PASS_ENV, type AgentClaudeConfig } from './config.js';

/** What `conveyor doctor` prints for the Claude CLI. */
export interface ClaudeProbe {
  ok: boolean;
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

const PROMPT = 'Reply with the single word OK.';
const LOGIN = /not logged in|please run \/login|invalid api key|authentication_error|oauth token/i;

function tail(text: string, max = 200): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return t.length > max ? `…${t.slice(-max)}` : t;
}

/**
 * Runs the configured CLI for real, the way jobs run it (same flags, same
 * environment allowlist), with a one-line prompt, one turn and a 5-cent cap, in an
 * empty temp directory. `claude --version` succeeding says nothing about whether a
 * job can run: a CLI that is not logged in, refuses a configured flag or prints no
 * JSON only shows itself on a real run.
 */
export async function probeClaude(config: AgentClaudeConfig, options: { timeoutMs?: number } = {}): Promise<ClaudeProbe> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const args = ['-p', PROMPT, '--output-format', 'json', '--max-turns', '1', '--max-budget-usd', '0.05', '--permission-mode', config.permissionMode];
  if (config.model) args.push('--model', config.model);
  args.push(...config.extraArgs);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-claude-probe-'));
  try {
    const proc = await runProcess({ command: config.command, args, cwd, timeoutMs, passEnv: [...DEFAULT_PASS_ENV, ...config.passEnv], killGraceMs: 1_000 });
    if (proc.spawnError) return { ok: false, detail: `"${config.command}" could not be started: ${tail(proc.spawnError)}`, fix: 'install Claude Code (npm install -g @anthropic-ai/claude-code) or set plugins.agent-claude.command' };
    if (proc.timedOut) return { ok: false, detail: `no answer within ${timeoutMs / 1000} s`, fix: 'check the network, ANTHROPIC_BASE_URL and proxies; CLAUDE_CODE_MAX_RETRIES bounds its retries' };
    const parsed = parseClaudeOutput(proc.stdout);
    const said = `${parsed.errorText ?? ''} ${proc.stderr}`;
    if (parsed.ok) {
      const bits = [parsed.usage?.model, parsed.usage ? `$${parsed.usage.costUsd.toFixed(4)}` : null].filter(Boolean);
      return { ok: true, detail: `answered a one-line prompt${bits.length ? ` (${bits.join(', ')})` : ''}` };
    }
    // The probe's own one-turn, 5-cent cap: the CLI reached the model, which is all it asks.
    if (parsed.subtype === 'error_max_turns' || parsed.subtype === 'error_max_budget_usd') return { ok: true, detail: `reached the model (stopped by the probe's cap: ${parsed.subtype})` };
    if (LOGIN.test(said)) {
      return { ok: false, detail: `not logged in: ${tail(parsed.errorText ?? proc.stderr)}`, fix: 'log in as the user Conveyor runs as (run `claude`, then /login), or give Conveyor ANTHROPIC_API_KEY (Bedrock/Vertex: CLAUDE_CODE_USE_BEDROCK or CLAUDE_CODE_USE_VERTEX and the cloud credentials, added to passEnv)' };
    }
    if (/cannot be used with root\/sudo/i.test(proc.stderr)) {
      return { ok: false, detail: `refuses ${config.permissionMode} as root: ${tail(proc.stderr)}`, fix: 'run Conveyor as a non-root user, or (only inside a container or sandbox) set IS_SANDBOX=1 in its environment' };
    }
    const flag = /^error: .*$/m.exec(proc.stderr);
    if (flag) return { ok: false, detail: `refused its arguments: ${tail(flag[0])}`, fix: 'check plugins.agent-claude.permissionMode, model and extraArgs against `claude --help` of this version' };
    if (parsed.subtype !== null || parsed.isError) return { ok: false, detail: `ran but failed: ${tail(parsed.errorText ?? '')}`, fix: 'check the API key, ANTHROPIC_BASE_URL, the model name and the network' };
    return {
      ok: false,
      detail: `printed no result JSON (exit ${proc.exitCode ?? proc.signal ?? '?'}): ${tail(proc.stderr || proc.stdout) || 'no output'}`,
      fix: 'is plugins.agent-claude.command Claude Code? It must print a JSON result with --output-format json',
    };
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}
