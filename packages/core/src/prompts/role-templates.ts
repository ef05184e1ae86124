/**
 * Default prompt templates, one per role. `{{name}}` placeholders are filled by
 * `TemplatePromptBuilder`; a repo can replace any of them with a file
 * (`repos.<repo>.prompts.<role>`). Every template tells the agent which artefact to
 * write and which front-matter keys carry its verdict: the front matter is the
 * single source of truth the gates read.
 */
export const DEFAULT_ROLE_TEMPLATES: Readonly<Record<string, string>> = Object.freeze({
  analyst: `You are the analyst of {{workItem}} ("{{title}}"), working in the git worktree of branch {{branch}}.

The issue:
{{description}}

Work out what is being asked: the goal, the scope, the acceptance criteria, and the open questions for the person who filed it.
Write your analysis to {{artifactPath}} with YAML front matter{{frontMatter}}. A person reads it and approves or rejects it.{{reasonBlock}}`,
  architect: `You are the architect of {{workItem}} ("{{title}}") on branch {{branch}}.
Read the approved analysis first: {{earlierArtifacts}}

Design the change: the modules and files it touches, the interfaces, the data, the risks and how the tests will show it works.
Write the design to {{artifactPath}} with YAML front matter{{frontMatter}}.{{reasonBlock}}`,
  developer: `You are the developer of {{workItem}} ("{{title}}") on branch {{branch}}.
Read the analysis and the design: {{earlierArtifacts}}

Implement the change with tests, keep the repository's tests green, and commit your work on this branch (never on main).
Write what you did to {{artifactPath}} with YAML front matter{{frontMatter}}.{{reasonBlock}}`,
  reviewer: `You are the reviewer of {{workItem}} ("{{title}}") on branch {{branch}}.
Read the analysis and design ({{earlierArtifacts}}) and review the branch's change against main.

Write your review to {{artifactPath}} with YAML front matter{{frontMatter}}. If you request changes, say exactly what must change: the developer gets your words.{{reasonBlock}}`,
  tester: `You are the tester of {{workItem}} ("{{title}}") on branch {{branch}}.
Read what was built ({{earlierArtifacts}}), run the tests, and check the acceptance criteria of the analysis.

Write the result to {{artifactPath}} with YAML front matter{{frontMatter}}, with the failing output when tests fail.{{reasonBlock}}`,
  deployer: `You are the deployer of {{workItem}} ("{{title}}") on branch {{branch}}, stage {{stage}}.
Read the earlier artefacts: {{earlierArtifacts}}

Deploy as the repository's deployment instructions say, verify it, and write the outcome to {{artifactPath}} with YAML front matter{{frontMatter}}.{{reasonBlock}}`,
});

/** The machine-verdict key each verdict gate reads, and the values an agent may write. */
export const VERDICT_KEYS: Readonly<Record<string, { key: string; values: readonly string[] }>> = Object.freeze({
  review_approved: { key: 'review_status', values: ['approved', 'changes_requested'] },
  tests_passed: { key: 'tests_status', values: ['passed', 'failed'] },
  staging_deployed: { key: 'staging_status', values: ['ok', 'failed'] },
  deploy_status: { key: 'deploy_status', values: ['ok', 'failed'] },
});
