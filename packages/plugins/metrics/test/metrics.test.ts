import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreTokens, definePlugin, type Intake, type OwnedRoute } from '@conveyor/core';
import { createTestConveyor, fakeUsage, testDatabases, type TestConveyor } from '@conveyor/core/testing';
import { cpuTicks, metricsPlugin, type MetricsEnvelope } from '../src/index.js';

const get = async (kit: TestConveyor, url: string) => {
  const r: OwnedRoute = kit.conveyor.routes.find((x) => x.method === 'GET' && x.url === url)!;
  return r.handler({ params: {}, query: {}, headers: {}, body: undefined });
};

/** Prometheus text format → `name{labels}` → value; HELP/TYPE lines checked for every family. */
function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const meta = /^# (HELP|TYPE) (\S+) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') typed.add(meta[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(m[1]!) || typed.has(family), `no TYPE for ${m[1]}`);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} GET /metrics: the versioned envelope with stages, queue (cancelled and retries), running agents with pid and CPU ticks, cost per agent and total, budgets`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [metricsPlugin], config: { budgets: { taskUsd: 1 } } });
    t.after(() => kit.cleanup());
    const a = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 'one' });
    const b = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '2', title: 'two' });
    // One job runs by hand, claimed by this host with this process's pid: the CPU ticks of a live process.
    const job = (await kit.conveyor.store.jobs.claim({ hostId: kit.conveyor.hostId, clauses: [] }))!;
    await kit.conveyor.store.jobs.setPid(job.id, job.attempt, process.pid);
    await kit.conveyor.db.knex('jobs').where({ task_id: b.task.id }).update({ status: 'cancelled' });
    await kit.conveyor.db.knex('jobs').insert({ task_id: b.task.id, stage: 'analysis', kind: 'agent', role: 'analyst', status: 'failed', attempt: 3, retries: 2, defer_count: 0, available_at: 0, created_at: 0, error: 'retry budget exhausted: boom' });
    const run = await kit.conveyor.store.agentRuns.start({ jobId: job.id, taskId: a.task.id, stage: 'analysis', role: 'analyst', attempt: 9, pid: 1 });
    await kit.conveyor.store.agentRuns.recordExit(run.id, { exitCode: 0, result: 'x', usage: fakeUsage({ costUsd: 0.25 }), logPath: null });

    const res = await get(kit, '/metrics');
    assert.equal(res.status, 200);
    const m = res.body as MetricsEnvelope;
    assert.equal(m.schema_version, 1);
    assert.equal(m.clk_tck, 100);
    assert.ok(!Number.isNaN(Date.parse(m.generated_at)));
    assert.deepEqual(m.stages, { analysis: 2 });
    assert.equal(m.queue!.jobs.running, 1);
    assert.equal(m.queue!.jobs.cancelled, 1);
    assert.deepEqual(m.queue!.retries, { jobs_retried: 1, retries_spent: 2, exhausted: 1 });
    const [agent] = m.agents!.running;
    assert.deepEqual([agent!.job_id, agent!.pid, agent!.agent, agent!.host_id], [job.id, process.pid, 'analyst', kit.conveyor.hostId]);
    assert.equal(typeof agent!.runtime_seconds, 'number');
    assert.ok(typeof agent!.cpu_ticks === 'number' && agent!.cpu_ticks > 0, 'utime + stime of a live process');
    assert.deepEqual(m.cost!.per_agent.map((x) => [x.agent, x.runs, x.cost_usd, x.input_tokens]), [['analyst', 1, 0.25, 1200]]);
    assert.equal(m.cost!.total.cost_usd, 0.25);
    assert.deepEqual(m.budgets, {
      blocked: 0,
      tasks: [
        { task_id: a.task.id, work_item: 'ET-001', stage: 'analysis', spent_usd: 0.25, limit_usd: 1, remaining_usd: 0.75, blocked: false },
        { task_id: b.task.id, work_item: 'ET-002', stage: 'analysis', spent_usd: 0, limit_usd: 1, remaining_usd: 1, blocked: false },
      ],
    });
  });

  test(`${t0} each section stands alone: a failing one is null, the others answer; Prometheus says which`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [metricsPlugin] });
    t.after(() => kit.cleanup());
    await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 'one' });
    await kit.conveyor.db.knex.schema.dropTable('agent_runs');
    const m = (await get(kit, '/metrics')).body as MetricsEnvelope;
    assert.equal(m.cost, null);
    assert.equal(m.budgets, null);
    assert.deepEqual(m.stages, { analysis: 1 });
    assert.equal(m.queue!.jobs.queued, 1);
    assert.deepEqual(m.agents, { running: [] });
    const prom = parseExposition(String((await get(kit, '/metrics/prometheus')).body));
    assert.equal(prom.get('conveyor_metrics_section_errors_total{section="cost"}'), 1);
    assert.equal(prom.get('conveyor_tasks{stage="analysis"}'), 1);
  });

  test(`${t0} GET /metrics/prometheus: the figures as gauges and the stage and agent durations as histograms, in the text format`, async (t) => {
    const kit = await createTestConveyor({
      dialect,
      plugins: [metricsPlugin],
      config: { worker: { enabled: true } },
      // The developer runs until the test ends: the figures below are read while the task
      // sits at development, not whenever the worker happens to get past it.
      agent: (req) => (req.stage === 'development' ? { until: new Promise(() => undefined) } : {}),
    });
    t.after(() => kit.cleanup());
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 'one' });
    await kit.events.waitFor('human.approval_needed');
    await kit.conveyor.intake.humanVerdict(task.id, 'approved');
    await kit.events.waitFor('agent.finished', (e) => e.job.stage === 'architecture');
    await kit.events.waitFor('task.stage_changed', (e) => e.from === 'architecture');
    const res = await get(kit, '/metrics/prometheus');
    assert.match(res.headers!['content-type']!, /^text\/plain; version=0\.0\.4/);
    const p = parseExposition(String(res.body));
    assert.equal(p.get('conveyor_agent_duration_seconds_count{agent="analyst",outcome="ok"}'), 1);
    assert.equal(p.get('conveyor_agent_duration_seconds_count{agent="architect",outcome="ok"}'), 1);
    assert.equal(p.get('conveyor_stage_duration_seconds_count{stage="analysis"}'), 1);
    assert.equal(p.get('conveyor_stage_duration_seconds_count{stage="architecture"}'), 1);
    assert.equal(p.get('conveyor_stage_duration_seconds_bucket{le="+Inf",stage="analysis"}'), 1);
    assert.equal(p.get('conveyor_tasks{stage="development"}'), 1);
    assert.equal(p.get('conveyor_agent_cost_usd{agent="analyst"}'), 0.0123);
    assert.equal(p.get('conveyor_agent_tokens{agent="architect",kind="output"}'), 300);
    assert.equal(p.get('conveyor_jobs{status="done"}'), 2);
  });

  test(`${t0} webhook-to-task latency: a task created by a webhook delivery is observed once; one created over the API is not`, async (t) => {
    const intakePlugin = definePlugin({
      name: 'hook',
      register(ctx) {
        ctx.webhooks.onDelivery('hook', async (payload) => {
          await ctx.container.resolve<Intake>(CoreTokens.Intake).startPipeline({ repo: 'r', trackerIssueId: payload, title: `from ${payload}` });
        });
      },
    });
    const kit = await createTestConveyor({ dialect, plugins: [metricsPlugin, intakePlugin] });
    t.after(() => kit.cleanup());
    await kit.conveyor.webhooks.accept({ source: 'hook', deliveryKey: 'd-1', payload: 'w-1' });
    await kit.conveyor.webhooks.idle();
    await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'api-1', title: 'over the API' });
    const created = kit.events.of('task.created');
    assert.equal(created.length, 2);
    assert.ok(created[0]!.deliveredAt instanceof Date);
    assert.equal(created[1]!.deliveredAt, undefined);
    const p = parseExposition(String((await get(kit, '/metrics/prometheus')).body));
    assert.equal(p.get('conveyor_webhook_to_task_seconds_count'), 1);
  });

  test(`${t0} disabled: no routes, no listeners`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [metricsPlugin], config: { plugins: { metrics: { enabled: false } } } });
    t.after(() => kit.cleanup());
    assert.deepEqual(kit.conveyor.routes, []);
    assert.equal(kit.conveyor.extensions.listenerDisposers.length, 0);
  });
}

test('cpuTicks: utime + stime of a live process; null for one that does not exist', () => {
  const ticks = cpuTicks(process.pid);
  assert.ok(ticks === null || ticks >= 0);
  if (process.platform === 'linux') assert.equal(typeof ticks, 'number');
  assert.equal(cpuTicks(2 ** 22 + 12345), null);
});
