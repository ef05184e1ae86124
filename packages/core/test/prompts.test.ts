import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Job, Task } from '../src/domain.js';
import { DEFAULT_PIPELINE } from '../src/pipeline/pipeline.js';
import { TemplatePromptBuilder } from '../src/prompts/template-prompt-builder.js';

const task = { id: 1, repo: 'acme/app', workItemId: 'ET-007', title: 'Fix login', description: 'Users cannot log in with SSO.', branch: 'et-007-fix-login' } as Task;
const job = (over: Partial<Job>) => ({ stage: 'review', role: 'reviewer', reason: null, ...over }) as Job;

test('a role prompt names the issue, the artefact, its verdict keys and the earlier artefacts', () => {
  const p = new TemplatePromptBuilder(DEFAULT_PIPELINE, {}).build({ task, job: job({}), artifactPath: 'docs/pipeline/ET-007/04-review.md' });
  assert.match(p, /reviewer of ET-007 \("Fix login"\) on branch et-007-fix-login/);
  assert.match(p, /docs\/pipeline\/ET-007\/04-review\.md with YAML front matter including `review_status: approved\|changes_requested`/);
  assert.match(p, /docs\/pipeline\/ET-007\/01-analysis\.md, docs\/pipeline\/ET-007\/02-architecture\.md, docs\/pipeline\/ET-007\/03-development\.md/);
  assert.doesNotMatch(p, /\{\{/);
});

test('a rollback gives the developer the failing gate and its output', () => {
  const reason = 'Gate "review_approved" failed at stage "review": review_status is "changes_requested"\n\nRename the flag.';
  const p = new TemplatePromptBuilder(DEFAULT_PIPELINE, {}).build({ task, job: job({ stage: 'development', role: 'developer', reason }), artifactPath: 'x.md' });
  assert.match(p, /This run has a reason — address it first:\nGate "review_approved" failed at stage "review"[\s\S]*Rename the flag\./);
  const analyst = new TemplatePromptBuilder(DEFAULT_PIPELINE, {}).build({ task, job: job({ stage: 'analysis', role: 'analyst' }), artifactPath: 'a.md' });
  assert.match(analyst, /Users cannot log in with SSO\./);
  assert.doesNotMatch(analyst, /reason/);
});

test('a repo can replace a role template with a file; a missing file is a clear error', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prompts-'));
  try {
    fs.writeFileSync(path.join(dir, 'tester.md'), 'Test {{workItem}} into {{artifactPath}}{{frontMatter}}; {{unknown}} stays.');
    const b = new TemplatePromptBuilder(DEFAULT_PIPELINE, { 'acme/app': { mainBranch: 'main', protectedBranches: [], prompts: { tester: 'tester.md', reviewer: 'nope.md' } } }, dir);
    assert.equal(b.build({ task, job: job({ stage: 'testing', role: 'tester' }), artifactPath: 't.md' }), 'Test ET-007 into t.md including `tests_status: passed|failed`; {{unknown}} stays.');
    assert.throws(() => b.build({ task, job: job({}), artifactPath: 'r.md' }), /repos\.acme\/app\.prompts\.reviewer: cannot read .*nope\.md/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
