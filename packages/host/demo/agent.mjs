#!/usr/bin/env node
// The demo's scripted agent: one script, a role per invocation (`agent.mjs developer`).
// It does what the real agent's role would leave behind — real files, a real commit,
// an artefact whose front matter carries the machine verdict — and prints a result
// JSON shaped like Claude Code's, so the demo shows usage and cost.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const role = process.argv[2] ?? process.env.CONVEYOR_ROLE;
const env = process.env;
const workItem = env.CONVEYOR_WORK_ITEM ?? 'ET-000';
const stage = env.CONVEYOR_STAGE ?? role;
const title = env.CONVEYOR_TITLE ?? 'demo task';
const artifact = env.CONVEYOR_ARTIFACT;
const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 30) || 'feature';
const fnName = slug.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase()).replace(/^[0-9]/, 'f$&');

function writeArtifact(frontMatter, body) {
  if (!artifact) throw new Error('CONVEYOR_ARTIFACT is not set');
  fs.mkdirSync(path.dirname(artifact), { recursive: true });
  const fm = Object.entries({ stage, work_item: workItem, ...frontMatter }).map(([k, v]) => `${k}: ${v}`).join('\n');
  fs.writeFileSync(artifact, `---\n${fm}\n---\n# ${workItem} · ${stage}\n\n${body}\n`);
}

function git(...args) {
  return execFileSync('git', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, GIT_AUTHOR_NAME: `demo ${role}`, GIT_AUTHOR_EMAIL: `${role}@demo.local`, GIT_COMMITTER_NAME: `demo ${role}`, GIT_COMMITTER_EMAIL: `${role}@demo.local` } }).toString();
}

const work = {
  analyst() {
    writeArtifact({ verdict: 'ready' }, `Goal: ${title}.\n\nThe change adds \`src/${slug}.js\` with a tested function \`${fnName}()\`.`);
  },
  architect() {
    writeArtifact({ design: 'approved' }, `One module, \`src/${slug}.js\`, exporting \`${fnName}()\`; a test next to it in \`test/\`.`);
  },
  developer() {
    fs.mkdirSync('src', { recursive: true });
    fs.mkdirSync('test', { recursive: true });
    fs.writeFileSync(`src/${slug}.js`, `/** ${title} */\nexport function ${fnName}(name = 'world') {\n  return \`${title}: hello, \${name}\`;\n}\n`);
    fs.writeFileSync(
      `test/${slug}.test.js`,
      `import assert from 'node:assert/strict';\nimport { test } from 'node:test';\nimport { ${fnName} } from '../src/${slug}.js';\n\ntest('${fnName} greets', () => {\n  assert.equal(${fnName}('team'), '${title.replace(/'/g, "\\'")}: hello, team');\n});\n`,
    );
    writeArtifact({ implemented: true }, `Added \`src/${slug}.js\` and \`test/${slug}.test.js\`.`);
    git('add', '-A');
    // Run again on a branch that already has this change (a job retried after a
    // crash): nothing new to commit is not a failure.
    if (git('status', '--porcelain').trim()) git('commit', '--quiet', '-m', `${workItem}: ${title}`);
  },
  reviewer() {
    const src = fs.existsSync(`src/${slug}.js`);
    writeArtifact({ review_status: src ? 'approved' : 'changes_requested' }, src ? 'The change is small, tested and named after the issue.' : `src/${slug}.js is missing.`);
  },
  tester() {
    let passed = true;
    let output = '';
    try {
      output = execFileSync(process.execPath, ['--test'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    } catch (err) {
      passed = false;
      output = String(err.stdout ?? err.message);
    }
    writeArtifact({ tests_status: passed ? 'passed' : 'failed' }, '```\n' + output.split('\n').filter((l) => /^# (tests|pass|fail)/.test(l)).join('\n') + '\n```');
  },
  deployer() {
    if (stage === 'deploy-staging') writeArtifact({ staging_status: 'ok' }, 'Deployed to the demo staging environment (nothing real is deployed).');
    else writeArtifact({ deploy_status: 'ok' }, 'Deployed (the demo deploys nothing real).');
  },
};

if (!work[role]) {
  console.error(`demo agent: unknown role "${role}"`);
  process.exit(2);
}
work[role]();
// Deterministic, plausible usage per role, shaped like `claude -p --output-format json`.
const sizes = { analyst: [1800, 2400, 21000], architect: [2100, 3100, 26000], developer: [5200, 9800, 48000], reviewer: [2600, 1500, 31000], tester: [1900, 1200, 18000], deployer: [900, 700, 9000] };
const [input, output, cached] = sizes[role];
const cost = Number(((input * 3 + output * 15 + cached * 0.3) / 1e6).toFixed(4));
process.stdout.write(
  JSON.stringify({
    type: 'result',
    subtype: 'success',
    is_error: false,
    result: `${role} finished ${workItem} (${stage})`,
    total_cost_usd: cost,
    usage: { input_tokens: input, output_tokens: output, cache_read_input_tokens: cached, cache_creation_input_tokens: 0 },
    modelUsage: { 'claude-sonnet-4-5': { costUSD: cost } },
  }) + '\n',
);
