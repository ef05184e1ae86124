/** Tokens private to this plugin. */
export const ForgeGiteaTokens = Object.freeze({
  /** The `GiteaForge` itself (also bound as `CoreTokens.Forge`). */
  Forge: Symbol.for('conveyor.forge-gitea.Forge'),
  /** The `GiteaClient`: the REST calls, by Gitea `owner/name`. */
  Client: Symbol.for('conveyor.forge-gitea.Client'),
  /**
   * Optional `typeof fetch` the client uses instead of the global one; bind it
   * before plugins register (a proxy-aware client, a test transport).
   */
  Fetch: Symbol.for('conveyor.forge-gitea.Fetch'),
});
