import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import 'reflect-metadata';
import { createConveyor, findBwrap, git, probeBubblewrap, type OwnedRoute } from '@conveyor/core';
import { EventRecorder, RecordingLogger } from '@conveyor/core/testing';
import { BUNDLED_PLUGINS, DEMO_AGENT, embeddedConfig } from '@conveyor/host';

const HOST_SECRET = 'host-secret-value-90210';
const API_TOKEN = 'api-token-value-31337';
const OTHER_SECRET = 'another-tasks-secret-8086';
const ESCAPES = ['push-remote-url', 'push-configured-url', 'push-path-to-origin', 'read-token', 'read-database', 'read-other-worktree', 'write-mirror-objects', 'plant-origin-hook'] as const;
const PUSHES = ESCAPES.filter((e) => e.startsWith('push-'));

/**
 * The hostile developer: tries every escape (each printed as `ESCAPE <name>:
 * blocked|succeeded`), says whether Conveyor's secret is in its environment, plants
 * programs behind every git mechanism (each writes to `marks` only when run
 * outside the agent, i.e. by Conveyor), then does the real work with the demo
 * agent so the task carries on.
 */
function hostileScript(p: { origin: string; dataDir: string; other: string; mirror: string; marks: string }): string {
  return `#!/bin/sh
export GIT_AUTHOR_NAME=evil GIT_AUTHOR_EMAIL=evil@x GIT_COMMITTER_NAME=evil GIT_COMMITTER_EMAIL=evil@x
attempt() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "ESCAPE $name: succeeded"; else echo "ESCAPE $name: blocked"; fi; }
git commit --allow-empty -qm "evil: my commit, pushed my way"
attempt push-remote-url sh -c 'git push "$(git remote get-url origin)" HEAD:refs/heads/main'
attempt push-configured-url git push "${p.origin}" HEAD:refs/heads/main
attempt push-path-to-origin git push "$CONVEYOR_WORKTREE/../../../../origin/demo.git" HEAD:refs/heads/main
attempt read-token cat "${p.dataDir}/token"
attempt read-database cat "${p.dataDir}/conveyor.db"
attempt read-other-worktree cat "${p.other}/secret.txt"
attempt write-mirror-objects touch "${p.mirror}/objects/planted-by-agent"
# A hook in the origin runs when Conveyor pushes: it must see none of Conveyor's secrets.
attempt plant-origin-hook sh -c 'printf "#!/bin/sh\\nenv > ${p.marks}/origin-hook.\\$\\$\\n" > "${p.origin}/hooks/post-update" && chmod +x "${p.origin}/hooks/post-update"'
if env | grep -q "${HOST_SECRET}"; then echo "LEAK: the host's secret is in my environment"; else echo "NO LEAK"; fi
# The forge's CI runs the tests the agent writes: they try too.
mkdir -p test && cat > test/ci-escape.test.js <<'JS'
import fs from 'node:fs';
import { test } from 'node:test';
test('the CI run tries to read the token', () => {
  let outcome = 'blocked';
  try { fs.readFileSync(${JSON.stringify(`${p.dataDir}/token`)}); outcome = 'succeeded'; } catch {}
  console.log('CI-ESCAPE read-token: ' + outcome);
  console.log(process.env.CONVEYOR_TEST_HOST_SECRET ? 'CI-LEAK' : 'CI-NO-LEAK');
});
JS
evil="$PWD/.git/evil"; mkdir -p "$evil/hooks"
mk() { printf '#!/bin/sh\\n[ -n "$IN_AGENT" ] || env > "${p.marks}/%s.$$"\\n%s\\n' "$1" "$2" > "$evil/$1"; chmod +x "$evil/$1"; echo "$evil/$1"; }
for h in pre-commit prepare-commit-msg commit-msg post-commit post-checkout post-merge pre-push pre-receive update post-receive reference-transaction post-index-change pre-auto-gc; do cp "$(mk hook-$h 'exit 0')" "$evil/hooks/$h"; done
git config core.hooksPath "$evil/hooks"
cp "$evil/hooks/"* .git/hooks/ 2>/dev/null || { mkdir -p .git/hooks && cp "$evil/hooks/"* .git/hooks/; }
git config core.fsmonitor "$(mk fsmonitor 'exit 1')"
git config core.sshCommand "$(mk ssh 'exit 1')"
git config credential.helper "!$(mk credential 'exit 0')"
git config core.alternateRefsCommand "$(mk alternate-refs 'exit 0')"
git config filter.evil.clean "$(mk filter-clean cat)"
git config filter.evil.smudge "$(mk filter-smudge cat)"
git config filter.evil.required true
git config "url.ext::$(mk ext 'exit 1') %S.insteadOf" /
printf '* filter=evil\\n' > .gitattributes
mkdir -p .git/info && printf '* filter=evil\\n' > .git/info/attributes
`;
}

async function bwrapUsable(): Promise<string | null> {
  const bwrap = findBwrap();
  if (!bwrap) return 'bwrap is not installed';
  const probe = await probeBubblewrap(bwrap);
  return probe.ok ? null : probe.detail;
}

const bwrapMissing = await bwrapUsable();
if (bwrapMissing) process.stderr.write(`\n*** ${bwrapMissing}: the sandboxed hostile-agent test is SKIPPED (install bubblewrap) ***\n\n`);

const post = (routes: readonly OwnedRoute[], url: string) => routes.find((r) => r.method === 'POST' && r.url === url)!;

for (const sandbox of ['bubblewrap', 'none'] as const) {
  const skip = sandbox === 'bubblewrap' && bwrapMissing ? `SKIPPED: ${bwrapMissing}` : false;
  test(`[sandbox: ${sandbox}] a hostile developer agent never reaches main, runs nothing under Conveyor's git and sees no host secret; the task still completes`, { timeout: 120_000, skip }, async (t) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-hostile-'));
    const agentDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-hostile-agent-'));
    const marks = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-hostile-marks-'));
    process.env.CONVEYOR_TEST_HOST_SECRET = HOST_SECRET;
    const origin = path.join(dataDir, 'origin', 'demo.git');
    const script = path.join(agentDir, 'hostile.sh');
    const other = path.join(dataDir, 'workspaces', 'worktrees', 'demo', 'et-999-another-task');
    fs.writeFileSync(script, hostileScript({ origin, dataDir, other, mirror: path.join(dataDir, 'workspaces', 'mirrors', 'demo.git'), marks }), { mode: 0o755 });
    fs.mkdirSync(other, { recursive: true });
    fs.writeFileSync(path.join(other, 'secret.txt'), OTHER_SECRET);
    fs.writeFileSync(path.join(dataDir, 'token'), API_TOKEN, { mode: 0o600 });

    const config = embeddedConfig({ dataDir, maxConcurrency: 1, autoApprove: true }) as {
      workspaces: Record<string, unknown>;
      plugins: Record<string, Record<string, unknown>>;
    };
    config.workspaces.sandbox = sandbox;
    // IN_AGENT marks the agent's own processes: a planted program that runs without it was run by Conveyor.
    config.plugins['agent-script']!.commands = { developer: `export IN_AGENT=1; sh "${script}" && node "${DEMO_AGENT}" developer` };
    const conveyor = await createConveyor({ config, plugins: BUNDLED_PLUGINS, logger: new RecordingLogger() });
    const events = new EventRecorder(conveyor.events);
    t.after(async () => {
      await conveyor.stop();
      delete process.env.CONVEYOR_TEST_HOST_SECRET;
      for (const d of [dataDir, agentDir, marks]) fs.rmSync(d, { recursive: true, force: true });
    });
    await conveyor.start();
    // main moves only by the forge's merge (update-ref inside the origin): no push to main is ever Conveyor's.
    const refusals = path.join(dataDir, 'refused-pushes');
    fs.writeFileSync(
      path.join(origin, 'hooks', 'pre-receive'),
      `#!/bin/sh\nwhile read old new ref; do\n  if [ "$ref" = refs/heads/main ]; then echo "$ref" >> "${refusals}"; echo "main moves only by Conveyor's merge" >&2; exit 1; fi\ndone\nexit 0\n`,
      { mode: 0o755 },
    );
    const mainBefore = (await git(['rev-parse', 'main'], { cwd: origin })).stdout;

    const created = await post(conveyor.routes, '/tasks').handler({ params: {}, query: {}, headers: {}, body: { title: 'Add greeting' } });
    await events.waitFor('task.done', () => events.of('task.done').length === 1, 110_000);

    // The agent's own output: every escape reported, none leaking.
    const logs = fs.readdirSync(path.join(dataDir, 'logs'), { recursive: true }).map(String).filter((f) => f.endsWith('.log') && f.includes('developer'));
    const out = logs.map((f) => fs.readFileSync(path.join(dataDir, 'logs', f), 'utf8')).join('\n');
    const outcome = new Map([...out.matchAll(/^ESCAPE (\S+): (\w+)$/gm)].map((m) => [m[1]!, m[2]!]));
    assert.deepEqual([...outcome.keys()].sort(), [...ESCAPES].sort(), `every escape was tried:\n${out}`);
    const mustFail = sandbox === 'bubblewrap' ? ESCAPES : PUSHES;
    for (const e of mustFail) assert.equal(outcome.get(e), 'blocked', `${e} is blocked (sandbox: ${sandbox})`);
    assert.match(out, /^NO LEAK$/m, 'no Conveyor environment variable in the agent');
    if (sandbox === 'bubblewrap') assert.ok(!out.includes(API_TOKEN) && !out.includes(OTHER_SECRET), 'nothing of the token or another worktree reached the agent');

    const ci = fs.readdirSync(path.join(dataDir, 'logs', 'ci')).map((f) => fs.readFileSync(path.join(dataDir, 'logs', 'ci', f), 'utf8')).join('\n');
    assert.match(ci, /CI-NO-LEAK/, 'the CI run of the agent\'s tests sees no host secret');
    assert.match(ci, new RegExp(`CI-ESCAPE read-token: ${sandbox === 'bubblewrap' ? 'blocked' : 'succeeded'}`), 'and, sandboxed, cannot read the token');

    // Not one program planted in the agent's repository ran under Conveyor's git commands.
    const ran = fs.readdirSync(marks);
    assert.deepEqual(ran.filter((f) => !f.startsWith('origin-hook.')), [], 'planted programs that ran outside the agent');
    // A hook planted in the origin (possible only unsandboxed) ran on Conveyor's push, without its secrets.
    const originHook = ran.filter((f) => f.startsWith('origin-hook.'));
    assert.equal(originHook.length > 0, sandbox === 'none');
    for (const f of originHook) assert.ok(!fs.readFileSync(path.join(marks, f), 'utf8').includes(HOST_SECRET), 'the origin\'s hook saw no host secret');

    // main: only Conveyor's merge moved it; the hook refused every other update.
    const firstParents = (await git(['log', '--first-parent', '--format=%s', `${mainBefore}..main`], { cwd: origin })).stdout.split('\n').filter(Boolean);
    assert.equal(firstParents.length, 1);
    assert.match(firstParents[0]!, /^Merge branch /);
    const refused = fs.existsSync(refusals) ? fs.readFileSync(refusals, 'utf8').trim().split('\n') : [];
    // Without the sandbox the two pushes that found the origin hit the hook; with it, nothing reached the origin.
    assert.equal(refused.length, sandbox === 'bubblewrap' ? 0 : 2, `refused pushes: ${refused.join(', ')}`);
    assert.equal(fs.existsSync(path.join(dataDir, 'workspaces', 'mirrors', 'demo.git', 'objects', 'planted-by-agent')), sandbox === 'none');
    const task = (await conveyor.store.tasks.get((created.body as { task: { id: number } }).task.id))!;
    assert.equal(task.stage, 'done');
    assert.ok(task.mergedAt);
  });
}
