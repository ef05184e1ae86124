import fs from 'node:fs';
import path from 'node:path';
import type { RepoConfig } from '../config/core-schema.js';
import { ConveyorError } from '../errors.js';
import { artifactPath } from '../ports/artifact-reader.js';
import { stageIndex, type Pipeline } from '../pipeline/pipeline.js';
import type { PromptBuilder, PromptInput } from '../queue/prompt.js';
import { DEFAULT_ROLE_TEMPLATES, VERDICT_KEYS } from './role-templates.js';

/**
 * Builds each agent's prompt from its role's template (a repo may override one
 * with a file), filling in the issue, the branch, the artefact path with its
 * required front-matter keys, the earlier stages' artefacts, and — on a relaunch or
 * rollback — the reason: the person's rejection, or the failing gate and its output.
 */
export class TemplatePromptBuilder implements PromptBuilder {
  constructor(
    private readonly pipeline: Pipeline,
    private readonly repos: Readonly<Record<string, RepoConfig>>,
    private readonly baseDir: string = process.cwd(),
  ) {}

  build({ task, job, artifactPath: file }: PromptInput): string {
    const role = job.role ?? 'agent';
    const template = this.#template(task.repo, role);
    const index = stageIndex(this.pipeline, job.stage);
    const earlier = this.pipeline.stages.slice(0, Math.max(0, index)).map((s, i) => artifactPath(task.workItemId, i, s.name));
    const stage = this.pipeline.stages[index];
    const verdicts = (stage?.exitGates ?? []).map((g) => VERDICT_KEYS[g]).filter((v): v is { key: string; values: readonly string[] } => !!v);
    const frontMatter = verdicts.length ? ` including ${verdicts.map((v) => `\`${v.key}: ${v.values.join('|')}\``).join(' and ')}` : '';
    const values: Record<string, string> = {
      workItem: task.workItemId,
      title: task.title,
      description: task.description.trim() || '(no description)',
      branch: task.branch,
      stage: job.stage,
      role,
      artifactPath: file,
      frontMatter,
      earlierArtifacts: earlier.length ? earlier.join(', ') : '(none)',
      reason: job.reason ?? '',
      reasonBlock: job.reason ? `\n\nThis run has a reason — address it first:\n${job.reason}` : '',
    };
    return template.replace(/\{\{(\w+)\}\}/g, (m, name: string) => values[name] ?? m);
  }

  #template(repo: string, role: string): string {
    const override = this.repos[repo]?.prompts?.[role];
    if (override) {
      const file = path.resolve(this.baseDir, override);
      try {
        return fs.readFileSync(file, 'utf8');
      } catch (err) {
        throw new ConveyorError('CONVEYOR_INPUT_INVALID', `repos.${repo}.prompts.${role}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
      }
    }
    return DEFAULT_ROLE_TEMPLATES[role] ?? DEFAULT_ROLE_TEMPLATES.developer!.replace('developer', role);
  }
}
