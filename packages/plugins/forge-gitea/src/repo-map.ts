import { ConveyorError } from '@conveyor/core';
import type { GiteaRepoRef } from './config.js';

/**
 * Conveyor repo names ↔ Gitea repositories. An entry of
 * `plugins.forge-gitea.repositories` wins; otherwise a Conveyor repo named
 * `owner/name` is that Gitea repository. Gitea matches owner and repository
 * names case-insensitively, and so does the reverse lookup.
 */
export class RepoMap {
  readonly #explicit: ReadonlyMap<string, GiteaRepoRef>;
  readonly #known: readonly string[];

  /**
   * @param repositories `plugins.forge-gitea.repositories`.
   * @param configured The instance's repos (`repos.<repo>` keys); with the explicit
   *   ones, the repos whose webhooks are accepted.
   */
  constructor(repositories: Readonly<Record<string, GiteaRepoRef>>, configured: readonly string[]) {
    this.#explicit = new Map(Object.entries(repositories));
    this.#known = [...new Set([...Object.keys(repositories), ...configured])];
  }

  /** The Gitea repository of a Conveyor repo; throws when it has none. */
  toGitea(repo: string): GiteaRepoRef {
    const explicit = this.#explicit.get(repo);
    if (explicit) return explicit;
    const parts = repo.split('/');
    if (parts.length === 2 && parts[0] && parts[1]) return { owner: parts[0], name: parts[1] };
    throw new ConveyorError(
      'CONVEYOR_INPUT_INVALID',
      `repo "${repo}" has no Gitea repository: add plugins.forge-gitea.repositories.${repo} = { owner, name }, or name the repo "owner/name"`,
    );
  }

  /** `owner/name` of a Conveyor repo. */
  fullName(repo: string): string {
    const g = this.toGitea(repo);
    return `${g.owner}/${g.name}`;
  }

  /** The configured Conveyor repo of a Gitea `full_name`, or null when none is. */
  fromGitea(fullName: string): string | null {
    const wanted = fullName.toLowerCase();
    for (const [repo, g] of this.#explicit) if (`${g.owner}/${g.name}`.toLowerCase() === wanted) return repo;
    // A repo mapped explicitly elsewhere must not also match by its own name.
    return this.#known.find((repo) => !this.#explicit.has(repo) && repo.toLowerCase() === wanted) ?? null;
  }
}
