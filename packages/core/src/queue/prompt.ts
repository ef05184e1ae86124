import type { Job, Task } from '../domain.js';

/** What a prompt builder gets. */
export interface PromptInput {
  task: Task;
  job: Job;
  /** The artefact this stage must write, relative to the worktree. */
  artifactPath: string;
}

/** Builds the agent's prompt. Core binds `TemplatePromptBuilder` (role templates); a plugin may bind its own. */
export interface PromptBuilder {
  build(input: PromptInput): Promise<string> | string;
}

/** A minimal prompt: the issue, the stage, the artefact to write, and why it runs again. */
export const basicPromptBuilder: PromptBuilder = {
  build({ task, job, artifactPath }) {
    const lines = [
      `You are the ${job.role} of task ${task.workItemId} on branch ${task.branch}.`,
      `Issue: ${task.title}`,
      task.description ? `\n${task.description}\n` : '',
      `Stage: ${job.stage}. Write your artefact to ${artifactPath} with YAML front matter.`,
    ];
    if (job.reason) lines.push(`\nThis run has a reason:\n${job.reason}`);
    return lines.filter((l) => l !== '').join('\n');
  },
};
