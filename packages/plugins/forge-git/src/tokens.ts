/** Tokens private to this plugin. */
export const ForgeGitTokens = Object.freeze({
  /** The `LocalGitForge` itself (with `origin`, `listPullRequests`). */
  Forge: Symbol.for('conveyor.forge-git.Forge'),
});
