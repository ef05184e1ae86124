/** A user of the fake Gitea. */
export interface FakeUser {
  id: number;
  login: string;
  fullName: string;
  email: string;
}

/** A commit the fake knows: what payloads say about it. */
export interface FakeCommit {
  sha: string;
  message: string;
  author: FakeUser;
  timestamp: string;
  added: string[];
  removed: string[];
  modified: string[];
}

/** A pull request of the fake; tests may flip `conflict` and `blocked`. */
export interface FakePull {
  id: number;
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergedAt: string | null;
  mergeSha: string | null;
  mergedBy: FakeUser | null;
  baseSha: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** The next merge answers 409 with a conflict. */
  conflict: boolean;
  /** The next merge answers 405 with this message (checks failing, "Please try again later"). */
  blocked: string | null;
}

/** One commit status (one CI context at one moment). */
export interface FakeStatus {
  id: number;
  sha: string;
  context: string;
  state: string;
  targetUrl: string;
  description: string;
  creator: FakeUser;
  createdAt: string;
  updatedAt: string;
}

/** A repository of the fake: branch heads, commits, pull requests, statuses. */
export interface FakeRepo {
  id: number;
  owner: FakeUser;
  name: string;
  defaultBranch: string;
  /** Branches Gitea itself protects (DELETE → 403 "branch protected"). */
  protectedBranches: Set<string>;
  branches: Map<string, string>;
  commits: Map<string, FakeCommit>;
  pulls: FakePull[];
  statuses: FakeStatus[];
}

/** Gitea's time format (Go `time.Time` in UTC, whole seconds). */
export const giteaTime = (ms: number = Date.now()): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** A deterministic 40-hex sha for tests (`fakeSha('feature-1')`). */
export function fakeSha(seed: string): string {
  let h = 0x811c9dc5;
  let out = '';
  for (let round = 0; out.length < 40; round++) {
    for (const ch of `${seed}#${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 40);
}
