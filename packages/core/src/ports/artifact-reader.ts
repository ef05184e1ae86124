import type { Task } from '../domain.js';

/** A stage artefact as read from the task branch. */
export interface Artifact {
  /** Path inside the repository, `docs/pipeline/<WORK-ITEM>/<NN>-<stage>.md`. */
  path: string;
  /** Parsed YAML front matter: the single source of truth for machine verdicts. */
  frontMatter: Record<string, unknown>;
  body: string;
}

/**
 * Reads stage artefacts from a task's branch. Core's workspace manager implements it
 * over git; tests use `InMemoryArtifactReader`.
 */
export interface ArtifactReader {
  read(task: Task, stage: string): Promise<Artifact | null>;
}

/** Where a stage's artefact lives: `docs/pipeline/ET-007/03-development.md`. */
export function artifactPath(workItemId: string, stageIndex: number, stage: string): string {
  return `docs/pipeline/${workItemId}/${String(stageIndex + 1).padStart(2, '0')}-${stage}.md`;
}
