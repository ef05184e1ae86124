import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from '@conveyor/core/testing';
import { chromium, type Browser, type Page } from 'playwright-core';

// The dashboard in a real browser (Debian's `chromium`, installed by .ci/run) against
// a real host on the embedded default, driven the way a person uses it.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(root, 'packages/host/bin/conveyor.js');
const DEMO_AGENT = path.join(root, 'packages/host/demo/agent.mjs');
const CHROMIUM = process.env.CONVEYOR_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const SKIP = CHROMIUM && fs.existsSync(CHROMIUM) ? false : 'Chromium is not installed (apt-get install chromium, or set CONVEYOR_CHROMIUM): the dashboard browser tests are SKIPPED';
if (SKIP) console.warn(`!! ${SKIP}`);

/** Screenshots go outside the checkout: a test run must leave nothing in it. */
const SHOTS = process.env.CONVEYOR_TEST_ARTIFACTS ? path.join(process.env.CONVEYOR_TEST_ARTIFACTS, 'dashboard') : path.join(os.tmpdir(), `conveyor-dashboard-screens-${process.pid}`);

function cli(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, HOME: cwd } });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

test('the dashboard shows a task created from the CLI live, approves it, shows its cost and artefacts to the end, and stops another', { skip: SKIP, timeout: 240_000 }, async (t) => {
  fs.mkdirSync(SHOTS, { recursive: true });
  t.diagnostic(`screenshots: ${SHOTS}`);
  console.log(`# dashboard screenshots: ${SHOTS}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-dashboard-'));
  const data = path.join(dir, 'data');
  fs.writeFileSync(
    path.join(dir, 'conveyor.config.yaml'),
    [
      `instance: { dataDir: ${JSON.stringify(data)} }`,
      `database: { client: sqlite, filename: ${JSON.stringify(path.join(data, 'conveyor.db'))} }`,
      `workspaces: { root: ${JSON.stringify(path.join(data, 'workspaces'))} }`,
      'host: { address: 127.0.0.1, port: 0, shutdownGraceMs: 2000 }',
      'worker: { maxConcurrency: 2, pollIntervalMs: 200 }',
      `repos: { demo: { url: ${JSON.stringify(path.join(data, 'origin', 'demo.git'))}, testCommand: node --test } }`,
      'plugins:',
      '  agent-claude: { enabled: false }',
      // A person gives the analysis verdict: from the page.
      '  tracker-local: { defaultRepo: demo, autoApprove: false }',
      `  forge-git: { initMissing: true, logDir: ${JSON.stringify(path.join(data, 'logs'))} }`,
      `  agent-script: { defaultCommand: ${JSON.stringify(`node "${DEMO_AGENT}" "$CONVEYOR_ROLE"`)}, logDir: ${JSON.stringify(path.join(data, 'logs'))} }`,
    ].join('\n'),
  );
  const host = spawn(process.execPath, [BIN, 'start'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CONVEYOR_LOG_LEVEL: 'warn', HOME: dir } });
  let stderr = '';
  host.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((resolve) => host.on('exit', resolve));
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    host.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const url = await eventually(() => /listening on (http:\/\/\S+)/.exec(stderr)?.[1], 30_000, 'the host listening');
  const token = fs.readFileSync(path.join(data, 'token'), 'utf8').trim();

  browser = await chromium.launch({ executablePath: CHROMIUM as string, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // Script errors only: the refused wrong token is an expected 401 in the console.
  const scriptErrors: string[] = [];
  page.on('pageerror', (e) => scriptErrors.push(e.message));

  await page.goto(`${url}/ui`);
  await page.locator('#no-tasks').waitFor();
  await page.locator('#live.on').waitFor();
  // Set once: still there at the end means the page never reloaded.
  await page.evaluate('window.loadedOnce = true');

  const created = cli(['task', 'create', '-t', 'Add a greeting'], dir);
  assert.equal(created.code, 0, created.stderr);
  const row = page.locator('tr[data-task-id="1"]');
  await row.waitFor();
  assert.equal(await row.locator('td').nth(1).textContent(), 'Add a greeting');
  await page.locator('tr[data-task-id="1"] td.waiting', { hasText: 'verdict' }).waitFor({ timeout: 60_000 });
  await shot(page, 'tasks');

  await row.locator('a').click();
  await page.locator('h1', { hasText: 'Add a greeting' }).waitFor();
  await page.locator('#live.on').waitFor();
  await page.evaluate('window.loadedOnce = true');
  assert.equal(await page.locator('form[data-action="stop"] button').isDisabled(), false, 'the cancel plugin is on: stop can be pressed');
  assert.equal(await page.locator('form[data-action="retry"] button').isDisabled(), true);
  assert.equal(await page.locator('form[data-action="retry"] .why').textContent(), 'not blocked');
  await page.locator('details.artefact[data-stage="analysis"] h3', { hasText: 'ET-001 · analysis' }).waitFor();
  await shot(page, 'task-waiting-for-approval');

  // Approve: the page asks for the token; a wrong one says so; the right one approves.
  await page.locator('form[data-action="approve"] button').click();
  await page.locator('#token-form:not([hidden])').waitFor();
  await page.fill('#token-input', 'not-the-token-0000000000');
  await page.locator('#token-form button').click();
  await page.locator('#token-message', { hasText: 'That token is wrong' }).waitFor();
  await page.fill('#token-input', token);
  await page.locator('#token-form button').click();
  await page.locator('#flash', { hasText: 'Approve: done.' }).waitFor();
  assert.equal(await page.evaluate('sessionStorage.getItem("conveyor.token")'), token, 'kept for the browser session');

  // Moves through the stages on screen, without a reload.
  await page.locator('.stage-name', { hasText: 'architecture' }).first().waitFor({ timeout: 60_000 }).catch(() => undefined);
  await page.locator('main p .stage-name', { hasText: /^done/ }).waitFor({ timeout: 180_000 });
  assert.equal(await page.evaluate('window.loadedOnce'), true, 'the page was updated in place, not reloaded');
  const timeline = await page.locator('ol.timeline').textContent();
  assert.match(timeline ?? '', /analysis → architecture .*person: approved by a person/);
  assert.match(timeline ?? '', /deploy → done/);
  assert.match((await page.locator('.cost-total').textContent()) ?? '', /Spent \$\d+\.\d\d/);
  assert.ok((await page.locator('table.runs tbody tr').count()) >= 6, 'one row per agent run');
  await page.locator('details.artefact[data-stage="development"]').waitFor();
  await page.locator('ul.ci li[data-state="success"]').first().waitFor();
  // The log tail is read with the token, never put in a URL.
  await page.locator('tr[data-run-id="1"] button[data-log-url]').click();
  await page.locator('#log-1:not([hidden])').waitFor();
  await shot(page, 'task-done');

  await page.goto(`${url}/ui/queue`);
  await page.locator('h2', { hasText: 'Plugins' }).waitFor();
  await shot(page, 'queue');
  await page.goto(`${url}/ui/cost`);
  await page.locator('figure.chart svg').first().waitFor();
  assert.match((await page.locator('main').textContent()) ?? '', /analyst \$\d/);
  await shot(page, 'cost');
  await page.setViewportSize({ width: 360, height: 800 });
  await page.goto(`${url}/ui`);
  await row.waitFor();
  const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
  assert.ok(overflow <= 0, `readable at 360 px: no sideways scrolling of the page (${overflow} px)`);
  const tableOverflow = (await page.evaluate("(() => { const t = document.querySelector('table.tasks'); return t.scrollWidth - t.parentElement.clientWidth; })()")) as number;
  assert.ok(tableOverflow <= 0, `nor of the tasks table (${tableOverflow} px)`);
  await shot(page, 'tasks-360px');

  // A stop from the page stops a task: a second one, waiting for its verdict.
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.equal(cli(['task', 'create', '-t', 'Add a farewell'], dir).code, 0);
  await page.goto(`${url}/ui/tasks/2`);
  await page.locator('h1', { hasText: 'Add a farewell' }).waitFor();
  await page.locator('details.artefact[data-stage="analysis"]').waitFor({ timeout: 60_000 });
  await page.locator('form[data-action="stop"] button').click();
  await page.locator('main p .stage-name', { hasText: /^cancelled/ }).waitFor({ timeout: 60_000 });
  const shown = cli(['task', 'show', '2', '--json'], dir);
  assert.equal(JSON.parse(shown.stdout).task.stage, 'cancelled', shown.stdout + shown.stderr);
  assert.equal(await page.locator('form[data-action="stop"] button').isDisabled(), true, 'nothing left to stop');
  await shot(page, 'task-stopped');
  assert.deepEqual(scriptErrors, []);
});
