import type { AgentClaudeConfig } from './config.js';

/** The CLI's options the runner sets; `command` and `logDir` are not arguments. */
export type ClaudeArgOptions = Pick<AgentClaudeConfig, 'model' | 'maxTurns' | 'permissionMode' | 'appendSystemPrompt' | 'maxBudgetUsd' | 'allowedTools' | 'extraArgs'>;

/** The argument vector for one run, and the prompt's way in when it cannot be an argument. */
export interface ClaudeInvocation {
  args: string[];
  /** The prompt on stdin, or undefined when it is the argument after `-p`. */
  input: string | undefined;
}

// Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN) with E2BIG, and a
// prompt carrying earlier stages' artefacts can get there; stay well below it.
const MAX_PROMPT_ARG_BYTES = 100 * 1024;

/**
 * `-p <prompt> --output-format json [--model …] [--max-turns …] --permission-mode …
 * [--append-system-prompt …] [--max-budget-usd …] [--allowedTools a,b] [extraArgs…]`.
 * A prompt that is too long for argv, or that starts with `-` (the CLI's option
 * parser would take it for a flag), goes on stdin instead, which `claude -p` reads.
 */
export function buildClaudeInvocation(options: ClaudeArgOptions, prompt: string): ClaudeInvocation {
  const viaStdin = prompt.startsWith('-') || Buffer.byteLength(prompt, 'utf8') > MAX_PROMPT_ARG_BYTES;
  const args = viaStdin ? ['-p'] : ['-p', prompt];
  args.push('--output-format', 'json');
  if (options.model) args.push('--model', options.model);
  if (options.maxTurns !== undefined) args.push('--max-turns', String(options.maxTurns));
  args.push('--permission-mode', options.permissionMode);
  if (options.appendSystemPrompt) args.push('--append-system-prompt', options.appendSystemPrompt);
  if (options.maxBudgetUsd !== undefined) args.push('--max-budget-usd', String(options.maxBudgetUsd));
  if (options.allowedTools.length) args.push('--allowedTools', options.allowedTools.join(','));
  args.push(...options.extraArgs);
  return { args, input: viaStdin ? prompt : undefined };
}

/** The arguments as a log line: the prompt and the appended system prompt shortened. */
export function describeArgs(args: readonly string[]): string {
  return args.map((a) => (a.length > 80 ? `${JSON.stringify(a.slice(0, 60))}…(${a.length} chars)` : JSON.stringify(a))).join(' ');
}
