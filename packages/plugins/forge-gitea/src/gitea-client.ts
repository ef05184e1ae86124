import { assertTaskBranch } from '@conveyor/core';
import type { GiteaMergeStyle, GiteaRepoRef } from './config.js';
import { GiteaApiError, giteaMessageOf, statusText } from './gitea-errors.js';
import { branchPath, GiteaHttp, seg, type GiteaHttpOptions } from './gitea-http.js';

/** The fields of Gitea's `PullRequest` that Conveyor reads. */
export interface GiteaPullRequest {
  number: number;
  html_url: string;
  title: string;
  state: string;
  merged: boolean;
  mergeable: boolean | null;
  head: { ref: string; sha: string | null; repo_id: number | null };
  base: { ref: string; repo_id: number | null };
  merge_commit_sha: string | null;
}

/** Gitea's combined status of a commit, `statuses: null` already turned into `[]`. */
export interface GiteaCombinedStatus {
  /** `''` when the commit has no status at all. */
  state: string;
  sha: string;
  statuses: { context: string; status: string; targetUrl: string | null; description: string }[];
}

const PAGE = 50;
const MAX_PAGES = 40;

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

function toPullRequest(json: unknown, where: string): GiteaPullRequest {
  const o = obj(json);
  const head = obj(o.head);
  const base = obj(o.base);
  if (typeof o.number !== 'number' || typeof head.ref !== 'string' || typeof base.ref !== 'string') {
    throw new GiteaApiError('FORGE_GITEA_HTTP', `Gitea's answer to ${where} is not a pull request (no number, head.ref or base.ref)`, { status: 200 });
  }
  return {
    number: o.number,
    html_url: str(o.html_url) ?? '',
    title: str(o.title) ?? '',
    state: str(o.state) ?? 'open',
    merged: o.merged === true,
    mergeable: typeof o.mergeable === 'boolean' ? o.mergeable : null,
    head: { ref: head.ref, sha: str(head.sha), repo_id: num(head.repo_id) },
    base: { ref: base.ref, repo_id: num(base.repo_id) },
    merge_commit_sha: str(o.merge_commit_sha),
  };
}

/**
 * Gitea's REST API (≥ 1.23), the calls the forge needs. Every method takes the
 * Gitea repository (`{ owner, name }`), never a Conveyor repo name.
 */
export class GiteaClient {
  readonly http: GiteaHttp;

  constructor(options: GiteaHttpOptions) {
    this.http = new GiteaHttp(options);
  }

  #repo(r: GiteaRepoRef): string {
    return `/repos/${seg(r.owner)}/${seg(r.name)}`;
  }

  /**
   * After a 404 on something inside a repository: `null` when the repository is
   * there (so the thing is missing), an error when the repository itself is not —
   * a wrong mapping must not read as "no such branch".
   */
  async #absent(r: GiteaRepoRef): Promise<null> {
    const res = await this.http.call('GET', this.#repo(r), { handled: [404] });
    if (res.status !== 404) return null;
    throw new GiteaApiError(
      'FORGE_GITEA_NOT_FOUND',
      `Gitea has no repository ${r.owner}/${r.name}, or the token's user cannot see it: check plugins.forge-gitea.repositories and that user's access`,
      { status: 404, giteaMessage: giteaMessageOf(res.json, res.text) },
    );
  }

  /** The token's user (`GET /user`): the check that the token works. */
  async currentUser(): Promise<{ login: string }> {
    const res = await this.http.call('GET', '/user');
    return { login: str(obj(res.json).login) ?? '' };
  }

  /** A pull request by number; `null` when Gitea has none. */
  async getPullRequest(r: GiteaRepoRef, number: number): Promise<GiteaPullRequest | null> {
    const path = `${this.#repo(r)}/pulls/${seg(number)}`;
    const res = await this.http.call('GET', path, { handled: [404] });
    return res.status === 404 ? this.#absent(r) : toPullRequest(res.json, `GET ${path}`);
  }

  /** The open pull request of `head` into `base` (same repository), if any. */
  async findOpenPullRequest(r: GiteaRepoRef, head: string, base: string): Promise<GiteaPullRequest | null> {
    let seen = 0;
    for (let page = 1; page <= MAX_PAGES; page++) {
      const path = `${this.#repo(r)}/pulls?state=open&page=${page}&limit=${PAGE}`;
      const res = await this.http.call('GET', path);
      const items = Array.isArray(res.json) ? res.json.map((j) => toPullRequest(j, `GET ${path}`)) : [];
      const hit = items.find((p) => p.head.ref === head && p.base.ref === base && (p.head.repo_id === null || p.head.repo_id === p.base.repo_id));
      if (hit) return hit;
      seen += items.length;
      // The server may cap `limit` below ours: X-Total-Count says when the list ends.
      const total = Number(res.headers.get('x-total-count'));
      if (items.length === 0 || (Number.isFinite(total) && total > 0 ? seen >= total : items.length < PAGE)) return null;
    }
    return null;
  }

  /**
   * Opens a pull request. Gitea answers 409 when one is already open for that
   * head and base: that one is returned (`created: false`), so a retried
   * finalizer never fails on its own earlier success.
   */
  async createPullRequest(r: GiteaRepoRef, input: { head: string; base: string; title: string; body: string }): Promise<{ pullRequest: GiteaPullRequest; created: boolean }> {
    const path = `${this.#repo(r)}/pulls`;
    const res = await this.http.call('POST', path, { body: { head: input.head, base: input.base, title: input.title, body: input.body }, handled: [404, 409, 422] });
    const msg = giteaMessageOf(res.json, res.text);
    if (res.status === 404) {
      throw new GiteaApiError(
        'FORGE_GITEA_NOT_FOUND',
        `Gitea cannot open a pull request of "${input.head}" into "${input.base}" in ${r.owner}/${r.name} (${statusText(404, msg)}): the repository or one of the branches is not there; push the branch first`,
        { status: 404, giteaMessage: msg },
      );
    }
    if (res.status === 409) {
      const open = await this.findOpenPullRequest(r, input.head, input.base);
      if (open) return { pullRequest: open, created: false };
      throw new GiteaApiError('FORGE_GITEA_HTTP', `Gitea answered ${statusText(409, msg)} to POST ${path} but lists no open pull request of "${input.head}" into "${input.base}"`, { status: 409, giteaMessage: msg });
    }
    if (res.status === 422) {
      throw new GiteaApiError(
        'FORGE_GITEA_INVALID_REQUEST',
        `Gitea refused to open a pull request of "${input.head}" into "${input.base}" in ${r.owner}/${r.name} (${statusText(422, msg)}): both must be existing, different branches`,
        { status: 422, giteaMessage: msg },
      );
    }
    return { pullRequest: toPullRequest(res.json, `POST ${path}`), created: true };
  }

  /**
   * Merges with `style`, then reads the PR back (Gitea answers an empty 200).
   * 405 and 404 are ambiguous (already merged, not mergeable, closed), so the PR
   * is read: merged → success, the re-drive after a crash is idempotent.
   */
  async mergePullRequest(r: GiteaRepoRef, number: number, options: { style: GiteaMergeStyle; title?: string; message?: string; headCommitId?: string | null }): Promise<GiteaPullRequest> {
    const path = `${this.#repo(r)}/pulls/${seg(number)}/merge`;
    // Capitalised: old servers only know the Go field names (no json tags).
    // `head_commit_id`: Gitea refuses (409 "head out of date") if the head moved.
    const body = {
      Do: options.style,
      MergeTitleField: options.title ?? '',
      MergeMessageField: options.message ?? '',
      ...(options.headCommitId ? { head_commit_id: options.headCommitId } : {}),
    };
    const res = await this.http.call('POST', path, { body, handled: [404, 405, 409] });
    const msg = giteaMessageOf(res.json, res.text);
    const where = `${r.owner}/${r.name}#${number}`;
    if (res.status === 409) {
      throw new GiteaApiError('FORGE_GITEA_MERGE_CONFLICT', `Gitea could not merge ${where} (${statusText(409, msg)}): the branch conflicts with its base or moved; rebase it and try again`, { status: 409, giteaMessage: msg });
    }
    const pr = await this.getPullRequest(r, number);
    if (pr?.merged) return pr;
    if (!pr) throw new GiteaApiError('FORGE_GITEA_NOT_FOUND', `Gitea has no pull request ${where} (merge answered ${statusText(res.status, msg)})`, { status: 404, giteaMessage: msg });
    throw new GiteaApiError(
      'FORGE_GITEA_MERGE_REFUSED',
      `Gitea refused to merge ${where} (${statusText(res.status, msg)}); it is ${pr.state}, mergeable: ${String(pr.mergeable)}`,
      { status: res.status, giteaMessage: msg },
    );
  }

  /** The combined status of a commit (pass a sha: `{ref}` is one path segment). */
  async combinedStatus(r: GiteaRepoRef, ref: string): Promise<GiteaCombinedStatus> {
    const statuses: GiteaCombinedStatus['statuses'] = [];
    let state = '';
    let sha = ref;
    // Gitea computes `state` and `total_count` from the page it returns, not from all
    // statuses: read every page (until one comes back short) and combine them here.
    for (let page = 1; page <= MAX_PAGES; page++) {
      const res = await this.http.call('GET', `${this.#repo(r)}/commits/${seg(ref)}/status?page=${page}&limit=${PAGE}`);
      const o = obj(res.json);
      const list = Array.isArray(o.statuses) ? o.statuses.map(obj) : [];
      if (page === 1) {
        state = typeof o.state === 'string' ? o.state : '';
        sha = str(o.sha) ?? ref;
      }
      for (const s of list) statuses.push({ context: String(s.context ?? ''), status: String(s.status ?? ''), targetUrl: str(s.target_url), description: String(s.description ?? '') });
      if (list.length < PAGE) break;
    }
    return { state: statuses.length ? combineStates(statuses.map((s) => s.status)) : state, sha, statuses };
  }

  /**
   * Deletes a branch. Main and protected branches are refused here, before any
   * call (core's `assertTaskBranch`): Gitea's own protection may be configured
   * differently, or not at all. A branch already gone is fine.
   */
  async deleteBranch(r: GiteaRepoRef, branch: string, protection: { mainBranch: string; protectedBranches: readonly string[] }): Promise<void> {
    assertTaskBranch(branch, protection);
    const path = `${this.#repo(r)}/branches/${branchPath(branch)}`;
    const res = await this.http.call('DELETE', path, { handled: [403, 404] });
    if (res.status === 403) {
      const msg = giteaMessageOf(res.json, res.text);
      throw new GiteaApiError(
        'FORGE_GITEA_FORBIDDEN',
        `Gitea refused to delete branch "${branch}" of ${r.owner}/${r.name} (${statusText(403, msg)}): it is Gitea's default or a protected branch there; list it in repos.<repo>.protectedBranches so Conveyor never tries`,
        { status: 403, giteaMessage: msg },
      );
    }
  }

  /** The head commit of a branch; `null` when the branch does not exist. */
  async branchHeadSha(r: GiteaRepoRef, branch: string): Promise<string | null> {
    const res = await this.http.call('GET', `${this.#repo(r)}/branches/${branchPath(branch)}`, { handled: [404] });
    return res.status === 404 ? this.#absent(r) : str(obj(obj(res.json).commit).id);
  }
}

/** Gitea's combine rules over every context: error/failure → failure, any pending → pending, else success (warning and skipped count as success). */
export function combineStates(states: readonly string[]): string {
  if (states.some((s) => s === 'failure' || s === 'error')) return 'failure';
  if (states.some((s) => s === 'pending')) return 'pending';
  return 'success';
}
