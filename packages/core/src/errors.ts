/**
 * Error classes of Conveyor. Every error carries a stable `code` (so callers and
 * tests branch on it, not on message text) and, where it wraps another failure,
 * the original as `cause`.
 */
export type ConveyorErrorCode =
  | 'CONVEYOR_CONFIG_INVALID'
  | 'CONVEYOR_CONFIG_FILE'
  | 'CONVEYOR_PLUGIN_CYCLE'
  | 'CONVEYOR_PLUGIN_MISSING_DEPENDENCY'
  | 'CONVEYOR_PLUGIN_DUPLICATE'
  | 'CONVEYOR_PLUGIN_REGISTER'
  | 'CONVEYOR_PLUGIN_START'
  | 'CONVEYOR_PLUGIN_MODULE'
  | 'CONVEYOR_REGISTRY_FROZEN'
  | 'CONVEYOR_GATE_UNKNOWN'
  | 'CONVEYOR_GATE_DUPLICATE'
  | 'CONVEYOR_PIPELINE_INVALID'
  | 'CONVEYOR_TASK_NOT_FOUND'
  | 'CONVEYOR_INPUT_INVALID'
  | 'CONVEYOR_MIGRATION'
  | 'CONVEYOR_DATABASE'
  | 'CONVEYOR_DATABASE_DRIVER'
  | 'CONVEYOR_STOPPED'
  | 'CONVEYOR_ROUTE_ACCESS'
  | 'CONVEYOR_SANDBOX'
  /** The operation needs a plugin that is not enabled (STOP without the cancel plugin). */
  | 'CONVEYOR_PLUGIN_DISABLED'
  /** Another host already works in this `workspaces.root`. */
  | 'CONVEYOR_WORKSPACE_ROOT_IN_USE';


export class ConveyorError extends Error {
  readonly code: ConveyorErrorCode;

  constructor(code: ConveyorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConveyorError';
    this.code = code;
  }
}

/** One problem found while validating configuration. */
export interface ConfigIssue {
  /** Dotted path of the key, e.g. `plugins.serial-gate.repos[0]`. */
  path: string;
  /** What the schema expects there, in words (`integer ≥ 1`, `one of sqlite, pg`). */
  expected: string;
  /** What was found, rendered short (secrets are never rendered). */
  found: string;
}

export class ConfigError extends ConveyorError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], source?: string) {
    const where = source ? ` in ${source}` : '';
    const lines = issues.map((i) => `  - ${i.path || '(root)'}: expected ${i.expected}, found ${i.found}`);
    super('CONVEYOR_CONFIG_INVALID', `invalid configuration${where}:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Blanks the credentials of every URL in a text (`https://user:token@host` →
 * `https://***@host`): git errors quote their arguments, and an origin URL may
 * carry a token that must not reach a job's error, a tracker comment or a log.
 */
export function redactCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

/** Turns anything thrown into an Error, so catch blocks never deal with `unknown`. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(`non-error thrown: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error(`non-error thrown: ${String(thrown)}`);
  }
}
