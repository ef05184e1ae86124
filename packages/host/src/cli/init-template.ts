/** What `conveyor init` found out about the repository. */
export interface InitAnswers {
  /** The repo's name in the config (`repos.<name>`). */
  repo: string;
  /** The origin Conveyor clones from and merges into: a path relative to the config file, or a URL. */
  origin: string;
  /** True when `origin` is the bare copy `init` made (not the repository's own remote). */
  bareCopy: boolean;
  mainBranch: string;
  /** The repository's test command, when one was found. */
  testCommand: string | null;
  agent: 'demo' | 'claude';
}

// JSON strings are valid YAML scalars, and quote anything a path or command may hold.
const q = (s: string): string => JSON.stringify(s);

/** The commented `conveyor.config.yaml` that `conveyor init` writes. */
export function initConfigText(a: InitAnswers): string {
  const test = a.testCommand
    ? `    testCommand: ${q(a.testCommand)}    # the local CI and the tester's check`
    : `    # testCommand: npm test          # the local CI and the tester's check (without one, CI reports green)`;
  const agents =
    a.agent === 'claude'
      ? [
          '  # Claude Code does the work of each role; `conveyor doctor` checks it is installed.',
          '  agent-claude:',
          '    enabled: true',
          '  agent-script:',
          '    enabled: false',
        ]
      : [
          "  # The demo's scripted agents: they write a small tested module, so you can watch a",
          '  # task go through every stage. `conveyor init --agent claude` uses Claude Code instead.',
          '  agent-script:',
          '    # ${CONVEYOR_DEMO_AGENT} is set by the conveyor command to the bundled demo agent.',
          '    defaultCommand: node "${CONVEYOR_DEMO_AGENT}" "$CONVEYOR_ROLE"',
        ];
  return [
    '# Conveyor for this repository, written by `conveyor init`. Every key is explained in',
    "# Conveyor's configuration reference (docs/configuration.md); `conveyor config check`",
    '# prints the effective values.',
    '#',
    "# Relative paths below resolve against this file's directory, wherever you run",
    '# `conveyor` from; the CLI finds this file by looking upward from the working directory.',
    '',
    'instance:',
    '  # All local state: the database, workspaces, logs, the API token and the running',
    "  # host's address. Its own .gitignore keeps it out of `git status`.",
    '  dataDir: .conveyor',
    '',
    'host:',
    '  port: 3700                         # `conveyor start -p <port>` overrides it; `conveyor task …` finds it',
    '',
    'repos:',
    `  ${q(a.repo)}:`,
    a.bareCopy
      ? `    # A bare copy of this repository: Conveyor merges there, never into your remote.\n    # Fetch its work with: git fetch ${a.origin} ${a.mainBranch}`
      : "    # This repository's own remote: Conveyor's merges land there.",
    `    url: ${q(a.origin)}`,
    `    mainBranch: ${q(a.mainBranch)}`,
    test,
    '',
    'plugins:',
    '  # Tasks are filed with `conveyor task create -t "…"`; you approve each analysis with',
    '  # `conveyor task approve <id>` (or reject it with a comment).',
    '  tracker-local:',
    `    defaultRepo: ${q(a.repo)}`,
    '    autoApprove: false',
    '  # The local git forge: pull requests, CI (the test command) and merges on the origin above.',
    '  forge-git: {}',
    ...agents,
    '',
  ].join('\n');
}
