import type { FakeCommit, FakePull, FakeRepo, FakeStatus, FakeUser } from './fake-state.js';

/**
 * Gitea's API and webhook objects, built with the field set and field order of
 * the shared fixtures (`gitea-*.json`; `modules/structs` of Gitea 1.23+), so the
 * fake's bytes look like a real server's.
 */
export class GiteaPayloads {
  constructor(private readonly url: string) {}

  user(u: FakeUser): Record<string, unknown> {
    return {
      id: u.id,
      login: u.login,
      full_name: u.fullName,
      email: u.email,
      avatar_url: `${this.url}/avatars/${u.login}`,
      html_url: `${this.url}/${u.login}`,
      language: '',
      is_admin: false,
      last_login: '0001-01-01T00:00:00Z',
      created: '2026-01-02T09:00:00Z',
      restricted: false,
      active: true,
      prohibit_login: false,
      location: '',
      website: '',
      description: '',
      visibility: 'public',
      followers_count: 0,
      following_count: 0,
      starred_repos_count: 0,
      username: u.login,
    };
  }

  repository(r: FakeRepo): Record<string, unknown> {
    const full = `${r.owner.login}/${r.name}`;
    const host = new URL(this.url).host;
    return {
      id: r.id,
      owner: this.user(r.owner),
      name: r.name,
      full_name: full,
      description: '',
      empty: false,
      private: true,
      fork: false,
      template: false,
      parent: null,
      mirror: false,
      size: 1,
      language: '',
      languages_url: `${this.url}/api/v1/repos/${full}/languages`,
      html_url: `${this.url}/${full}`,
      url: `${this.url}/api/v1/repos/${full}`,
      link: '',
      ssh_url: `git@${host}:${full}.git`,
      clone_url: `${this.url}/${full}.git`,
      original_url: '',
      website: '',
      stars_count: 0,
      forks_count: 0,
      watchers_count: 1,
      open_issues_count: 0,
      open_pr_counter: r.pulls.filter((p) => p.state === 'open').length,
      release_counter: 0,
      default_branch: r.defaultBranch,
      archived: false,
      created_at: '2026-01-05T10:12:44Z',
      updated_at: '2026-01-05T10:12:44Z',
      archived_at: '1970-01-01T00:00:00Z',
      permissions: { admin: true, push: true, pull: true },
      has_issues: false,
      has_wiki: false,
      has_pull_requests: true,
      has_projects: false,
      projects_mode: 'all',
      has_releases: true,
      has_packages: false,
      has_actions: true,
      ignore_whitespace_conflicts: false,
      allow_merge_commits: true,
      allow_rebase: true,
      allow_rebase_explicit: true,
      allow_squash_merge: true,
      allow_fast_forward_only_merge: true,
      allow_rebase_update: true,
      default_delete_branch_after_merge: false,
      default_merge_style: 'merge',
      default_allow_maintainer_edit: false,
      avatar_url: '',
      internal: false,
      mirror_interval: '',
      object_format_name: 'sha1',
      mirror_updated: '0001-01-01T00:00:00Z',
      repo_transfer: null,
      topics: [],
      licenses: [],
    };
  }

  /** `PayloadCommit` (push commits, a status's `commit`). */
  commit(r: FakeRepo, c: FakeCommit): Record<string, unknown> {
    const who = { name: c.author.fullName, email: c.author.email, username: c.author.login };
    return {
      id: c.sha,
      message: c.message,
      url: `${this.url}/${r.owner.login}/${r.name}/commit/${c.sha}`,
      author: who,
      committer: { ...who },
      verification: null,
      timestamp: c.timestamp,
      added: c.added,
      removed: c.removed,
      modified: c.modified,
    };
  }

  #branch(r: FakeRepo, ref: string, sha: string): Record<string, unknown> {
    return { label: ref, ref, sha, repo_id: r.id, repo: this.repository(r) };
  }

  pullRequest(r: FakeRepo, p: FakePull, author: FakeUser): Record<string, unknown> {
    const html = `${this.url}/${r.owner.login}/${r.name}/pulls/${p.number}`;
    return {
      id: p.id,
      url: html,
      number: p.number,
      user: this.user(author),
      title: p.title,
      body: p.body,
      labels: [],
      milestone: null,
      assignee: null,
      assignees: null,
      requested_reviewers: null,
      requested_reviewers_teams: null,
      state: p.state,
      draft: false,
      is_locked: false,
      comments: 0,
      additions: 1,
      deletions: 0,
      changed_files: 1,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      mergeable: p.state === 'open' && !p.conflict,
      merged: p.merged,
      merged_at: p.mergedAt,
      merge_commit_sha: p.mergeSha,
      merged_by: p.mergedBy ? this.user(p.mergedBy) : null,
      allow_maintainer_edit: false,
      base: this.#branch(r, p.base, r.branches.get(p.base) ?? p.baseSha),
      head: this.#branch(r, p.head, r.branches.get(p.head) ?? p.baseSha),
      merge_base: p.baseSha,
      due_date: null,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      closed_at: p.closedAt,
      pin_order: 0,
    };
  }

  /** One entry of a combined status (key `status`, not `state`). */
  status(r: FakeRepo, s: FakeStatus): Record<string, unknown> {
    return {
      id: s.id,
      status: s.state,
      target_url: s.targetUrl,
      description: s.description,
      url: `${this.url}/api/v1/repos/${r.owner.login}/${r.name}/statuses/${s.sha}`,
      context: s.context,
      creator: this.user(s.creator),
      created_at: s.createdAt,
      updated_at: s.updatedAt,
    };
  }

  statusPayload(r: FakeRepo, s: FakeStatus, commit: FakeCommit): Record<string, unknown> {
    return {
      commit: this.commit(r, commit),
      context: s.context,
      created_at: s.createdAt,
      description: s.description,
      id: s.id,
      repository: this.repository(r),
      sender: this.user(s.creator),
      sha: s.sha,
      state: s.state,
      target_url: s.targetUrl,
      updated_at: s.updatedAt,
    };
  }

  pullRequestPayload(r: FakeRepo, p: FakePull, action: string, author: FakeUser, sender: FakeUser): Record<string, unknown> {
    return {
      action,
      number: p.number,
      pull_request: this.pullRequest(r, p, author),
      requested_reviewer: null,
      repository: this.repository(r),
      sender: this.user(sender),
      commit_id: '',
      review: null,
    };
  }

  pushPayload(r: FakeRepo, ref: string, before: string, commits: FakeCommit[], pusher: FakeUser): Record<string, unknown> {
    const after = commits.at(-1)?.sha ?? before;
    return {
      ref,
      before,
      after,
      compare_url: `${this.url}/${r.owner.login}/${r.name}/compare/${before}...${after}`,
      commits: commits.map((c) => this.commit(r, c)),
      total_commits: commits.length,
      head_commit: commits.length ? this.commit(r, commits.at(-1)!) : null,
      repository: this.repository(r),
      pusher: this.user(pusher),
      sender: this.user(pusher),
    };
  }
}
