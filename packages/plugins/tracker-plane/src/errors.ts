/** Stable codes of this plugin's errors: callers and tests branch on these, not on message text. */
export type PlaneErrorCode =
  /** Plane answered with a non-2xx status (the message carries Plane's own). */
  | 'PLANE_HTTP_ERROR'
  /** The request never got an answer (connection refused, timeout). */
  | 'PLANE_NETWORK_ERROR'
  /** Still 429 after the bounded retries. */
  | 'PLANE_RATE_LIMITED'
  /** Plane answered 2xx with a body that is not what its API documents. */
  | 'PLANE_BAD_RESPONSE'
  /** A state name that the project does not have. */
  | 'PLANE_UNKNOWN_STATE'
  /** A repo with no Plane project mapped to it in `plugins.tracker-plane.projects`. */
  | 'PLANE_UNKNOWN_REPO';

/** A failure talking to Plane's REST API. */
export class PlaneApiError extends Error {
  readonly code: PlaneErrorCode;
  /** HTTP status Plane answered with; null when there was no answer. */
  readonly status: number | null;
  /** Plane's own message (`error`, `detail` … of its JSON body), when it sent one. */
  readonly planeMessage: string | null;

  constructor(code: PlaneErrorCode, message: string, options: { status?: number | null; planeMessage?: string | null; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PlaneApiError';
    this.code = code;
    this.status = options.status ?? null;
    this.planeMessage = options.planeMessage ?? null;
  }
}

/** A webhook body this plugin cannot accept; `status` is the HTTP answer (400). */
export class PlaneWebhookError extends Error {
  readonly code = 'PLANE_WEBHOOK_INVALID' as const;
  readonly status = 400;

  constructor(message: string) {
    super(message);
    this.name = 'PlaneWebhookError';
  }
}
