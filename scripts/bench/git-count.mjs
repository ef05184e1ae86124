// `--count-git` for B8: a `git` shim first on the hosts' PATH that runs the real
// git and appends one line per invocation (start, end, exit code, cwd, argv) to a
// log, and the summary of that log by command and by where it ran. Conveyor's git
// runs with a filtered environment, so the shim carries the log path and the real
// git's path in its own text rather than in variables. The shim is a bash script
// (EPOCHREALTIME, no extra process per call); it adds about a fork of bash to each
// git process, so rates measured with it on are not the figures to quote.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes `<dir>/bin/git` and returns the directory to put first on PATH and the log.
 * @param {string} dir
 */
export function installGitShim(dir) {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const log = path.join(dir, 'git-calls.tsv');
  fs.writeFileSync(log, '');
  const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
  fs.writeFileSync(
    path.join(bin, 'git'),
    `#!/bin/bash
s=$EPOCHREALTIME
${q(realGit)} "$@"
rc=$?
e=$EPOCHREALTIME
l="$s\t$e\t$rc\t$PWD"
for a in "$@"; do a=\${a//$'\\n'/ }; l+=$'\\t'"\${a//$'\\t'/ }"; done
printf '%s\\n' "$l" >> ${q(log)}
exit $rc
`,
    { mode: 0o755 },
  );
  return { bin, log };
}

/** The git subcommand of an argv: the first word after the `-c k=v` / `-C dir` options. */
export function subcommand(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-c' || a === '-C') i++;
    else if (!a.startsWith('-')) return a;
  }
  return '(none)';
}

/** Where a git process ran, from its cwd under a B8 data directory. */
function place(cwd) {
  if (/\/mirrors\//.test(cwd)) return 'mirror';
  if (/\/worktrees\//.test(cwd)) return 'worktree';
  if (/\/origin\/[^/]+\.git/.test(cwd)) return 'origin';
  if (/conveyor-ci-/.test(cwd) || cwd === '/tmp' || /\/tmp$/.test(cwd)) return 'ci clone';
  return 'other';
}

/** Reads the shim's log: [{ start, ms, rc, cwd, argv, cmd, where }]. */
export function readGitLog(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [s, e, rc, cwd, ...argv] = l.split('\t');
      const cmd = subcommand(argv);
      return { start: Number(s) * 1000, ms: (Number(e) - Number(s)) * 1000, rc: Number(rc), cwd, argv, cmd, where: place(cwd) };
    });
}

/**
 * Counts and total ms per `place command`, most expensive first, with per-task
 * figures for `tasks` tasks.
 */
export function summarizeGit(calls, tasks) {
  const by = new Map();
  for (const c of calls) {
    const k = `${c.where} ${c.cmd}`;
    const v = by.get(k) ?? { key: k, n: 0, ms: 0 };
    v.n++;
    v.ms += c.ms;
    by.set(k, v);
  }
  const rows = [...by.values()].sort((a, b) => b.ms - a.ms);
  const total = { n: calls.length, ms: calls.reduce((a, c) => a + c.ms, 0) };
  return { rows, total, perTask: { n: total.n / tasks, ms: total.ms / tasks } };
}
