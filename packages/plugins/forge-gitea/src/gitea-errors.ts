/** Stable codes of Gitea API failures, to branch on instead of message text. */
export type GiteaErrorCode =
  /** No answer: network error or `requestTimeoutMs` passed. */
  | 'FORGE_GITEA_UNREACHABLE'
  /** 401: the token is missing, wrong or revoked. */
  | 'FORGE_GITEA_UNAUTHORIZED'
  /** 403: the token's user may not do that (protected or default branch …). */
  | 'FORGE_GITEA_FORBIDDEN'
  | 'FORGE_GITEA_NOT_FOUND'
  /** 422 and other refusals of the request's content (head equals base …). */
  | 'FORGE_GITEA_INVALID_REQUEST'
  /** 409 on merge: conflicts, or the head moved. */
  | 'FORGE_GITEA_MERGE_CONFLICT'
  /** 405/404 on merge and the PR is not merged: not mergeable, not allowed, closed. */
  | 'FORGE_GITEA_MERGE_REFUSED'
  /** Any other unexpected status or answer. */
  | 'FORGE_GITEA_HTTP';

/** A failed Gitea API call: the HTTP status, Gitea's own `message`, and what to do. */
export class GiteaApiError extends Error {
  readonly code: GiteaErrorCode;
  /** HTTP status; 0 when Gitea never answered. */
  readonly status: number;
  /** Gitea's `message` (or the merge conflict's `StdErr`), when it sent one. */
  readonly giteaMessage: string | null;

  constructor(code: GiteaErrorCode, message: string, details: { status: number; giteaMessage?: string | null; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'GiteaApiError';
    this.code = code;
    this.status = details.status;
    this.giteaMessage = details.giteaMessage ?? null;
  }
}

/**
 * Gitea's explanation in an error body: `{"message": …}` from `APIError`, or a
 * merge conflict's `{"Style", "StdOut", "StdErr", "Err"}`; else the start of the text.
 */
export function giteaMessageOf(json: unknown, text: string): string | null {
  if (json && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    // APIErrorNotFound puts the cause in `errors` under a generic message.
    const errors = Array.isArray(o.errors) && o.errors.length ? o.errors.map(String).join('; ').slice(0, 500) : null;
    if (typeof o.message === 'string' && o.message.trim()) return errors ? `${o.message.trim()} (${errors})` : o.message.trim();
    if (typeof o.StdErr === 'string' && o.StdErr.trim()) return o.StdErr.trim().slice(0, 500);
    return errors;
  }
  const t = text.trim();
  return t ? t.slice(0, 200) : null;
}

/** `404: "The target couldn't be found."` or just `405` when Gitea said nothing. */
export function statusText(status: number, giteaMessage: string | null): string {
  return giteaMessage ? `${status}: "${giteaMessage}"` : String(status);
}
