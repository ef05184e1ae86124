import type { DependencyContainer } from 'tsyringe';
import { CoreTokens } from '../tokens.js';
import type { AgentRunner } from './agent-runner.js';
import type { ArtifactReader } from './artifact-reader.js';
import type { ForgePort } from './forge.js';
import type { NotifierPort } from './notifier.js';
import type { TrackerPort } from './tracker.js';
import type { WorkspacePort } from './workspace.js';
import type { PromptBuilder } from '../queue/prompt.js';
import type { Canceller } from './canceller.js';
import type { MergePin } from './merge-pin.js';
import type { DeployStatusGuard, PostDeployWindow } from '../deploy/deploy-status.js';

/**
 * Optional ports, looked up lazily in the instance's container: an integration
 * plugin binds `CoreTokens.Forge` (etc.) during registration, and a port nobody
 * bound reads as null (each caller says what it does without it).
 */
export class Ports {
  constructor(private readonly container: DependencyContainer) {}

  #get<T>(token: symbol): T | null {
    return this.container.isRegistered(token, true) ? this.container.resolve<T>(token) : null;
  }

  tracker(): TrackerPort | null {
    return this.#get(CoreTokens.Tracker);
  }
  forge(): ForgePort | null {
    return this.#get(CoreTokens.Forge);
  }
  notifier(): NotifierPort | null {
    return this.#get(CoreTokens.Notifier);
  }
  agentRunner(): AgentRunner | null {
    return this.#get(CoreTokens.AgentRunner);
  }
  workspace(): WorkspacePort | null {
    return this.#get(CoreTokens.Workspace);
  }
  mergePin(): MergePin | null {
    return this.#get(CoreTokens.MergePin);
  }
  canceller(): Canceller | null {
    return this.#get(CoreTokens.Canceller);
  }
  deployStatusGuard(): DeployStatusGuard | null {
    return this.#get(CoreTokens.DeployStatusGuard);
  }
  postDeployWindow(): PostDeployWindow | null {
    return this.#get(CoreTokens.PostDeployWindow);
  }
  promptBuilder(): PromptBuilder | null {
    return this.#get(CoreTokens.PromptBuilder);
  }
  /** Never null: without a workspace, no artefact is found (artefact gates fail). */
  artifacts(): ArtifactReader {
    return this.#get<ArtifactReader>(CoreTokens.ArtifactReader) ?? { read: async () => null };
  }
}
