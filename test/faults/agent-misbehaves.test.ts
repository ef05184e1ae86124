import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pidAlive } from '@conveyor/core';
import { testDatabases } from '@conveyor/core/testing';
import { DEMO_AGENT } from '@conveyor/host';
import { checkInvariants, FaultScenario, fileLocalTask, scenarioProcesses } from './harness/index.js';

// One agent command for every role; what it does depends on the task's title. The
// hanging one first starts a command the way Claude Code's Bash tool does — in a
// session of its own — that also leaves the worktree, so only its tag still ties
// it to the run.
const agentScript = (escapee: string) => `#!/bin/sh
case "$CONVEYOR_TITLE" in
  *hangs*) setsid sh -c 'cd /; exec sleep ${escapee}' </dev/null >/dev/null 2>&1 &
           echo "escaped $!"; sleep 300 ;;
  *garbage*) printf '\\377\\376{"type":"res\\001\\002 %s' "$(head -c 64 /dev/urandom | tr -d '\\000')"; echo 'Segmentation fault' >&2; exit 3 ;;
  *misconfigured*) exec no-such-agent-cli --model opus ;;
  *) exec node "${DEMO_AGENT}" "$CONVEYOR_ROLE" ;;
esac
`;

/** Live processes whose command line is exactly `cmdline` (however the sandbox numbers them). */
function processesRunning(cmdline: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') === cmdline && pidAlive(Number(entry))) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

interface Row {
  id: number;
  title: string;
  blocked_reason: string | null;
}

for (const dialect of testDatabases()) {
  test(`[${dialect}] agents that hang, print garbage or are misconfigured: killed with their whole tree / failed with a clear reason; a configuration error is not retried; the host lives on`, { timeout: 120_000 }, async (t) => {
    const s = await FaultScenario.create(t, { name: 'agent-misbehaves', dialect, profile: 'local' });
    const script = path.join(s.dir, 'agent.sh');
    // A duration no other process uses, to find the escaped command by its command line.
    const escapee = `299.${process.pid}${dialect.length}`;
    fs.writeFileSync(script, agentScript(escapee), { mode: 0o755 });
    const host = s.host();
    const config = fs.readFileSync(host.configPath, 'utf8');
    fs.writeFileSync(
      host.configPath,
      config
        .replace(/defaultCommand: .*/, `defaultCommand: sh "${script}"`)
        .replace(/retryBudget: 5/, 'retryBudget: 1')
        .replace(/worker:\n/, 'worker:\n  agentTimeoutMs: 1500\n'),
    );
    await host.start();
    const ids = { hangs: await fileLocalTask(s, 'It hangs'), garbage: await fileLocalTask(s, 'It prints garbage'), misconfigured: await fileLocalTask(s, 'It is misconfigured') };
    const { knex } = await s.db();
    const blocked = async (): Promise<Row[]> => (await knex('tasks').whereNotNull('blocked_reason').select('id', 'title', 'blocked_reason')) as Row[];
    await s.until(async () => (await blocked()).length === 3, 60_000, 'the three tasks blocked');
    const reasons = new Map((await blocked()).map((r) => [Number(r.id), r.blocked_reason!]));
    const runs = async (id: number) => ((await knex('agent_runs').where({ task_id: id }).select('id')) as unknown[]).length;

    assert.match(reasons.get(ids.hangs)!, /analyst failed 2 times at analysis: timed out after 1500 ms/);
    assert.equal(await runs(ids.hangs), 2, 'a hang is retried within the budget');
    assert.match(reasons.get(ids.garbage)!, /analyst failed 2 times at analysis: exited with 3/);
    assert.equal(await runs(ids.garbage), 2);
    assert.match(reasons.get(ids.misconfigured)!, /not retried.*configuration error, not retried: the command was not found \(exit 127\)/);
    assert.equal(await runs(ids.misconfigured), 1, 'a configuration error is not retried as if transient');

    // The commands the hanging agent escaped into are gone with it, while the host runs on.
    const logs = fs.readdirSync(path.join(host.cwd, 'logs'), { recursive: true }).map(String).filter((f) => f.endsWith('.log'));
    const escaped = logs.flatMap((f) => [...fs.readFileSync(path.join(host.cwd, 'logs', f), 'utf8').matchAll(/^escaped (\d+)$/gm)]);
    assert.equal(escaped.length, 2, `both hanging runs escaped a command (${logs.join(', ')})`);
    assert.deepEqual(processesRunning(`sleep ${escapee}`), [], 'no escaped process outlives its run');
    assert.ok(host.running, 'the host survived every misbehaving agent');

    assert.deepEqual(await host.stop(), { code: 0, signal: null }, host.log);
    await s.until(() => scenarioProcesses(s.dir).length === 0, 20_000, 'no process of the scenario left');
    assert.deepEqual(await checkInvariants(s, { noProcesses: true }), []);
  });
}
