import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { probePlugin } from './probe-plugin.js';
import { startHost } from './helpers.js';
import { cancelPlugin } from '@conveyor/plugin-cancel';

for (const dialect of testDatabases()) {
  const d = `[${dialect}]`;

  test(`${d} GET /health answers ok after select 1, and 503 once the database is gone`, async (t) => {
    const { app, kit } = await startHost(t, { dialect });
    const ok = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { status: 'ok', database: 'ok' });

    await kit.conveyor.db.close();
    const down = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(down.statusCode, 503);
    assert.deepEqual(down.json(), { status: 'error', database: 'unreachable' });
  });

  test(`${d} GET /status lists the version, the enabled plugin, its daemon and the worker`, async (t) => {
    const { app, kit } = await startHost(t, { dialect, plugins: [probePlugin()] });
    await kit.conveyor.start();
    const res = await app.inject({ method: 'GET', url: '/status' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.version, '9.9.9-test');
    assert.equal(body.hostId, kit.conveyor.hostId);
    assert.equal(body.database, dialect === 'pg' ? 'pg' : 'sqlite');
    assert.deepEqual(body.plugins, ['probe']);
    assert.deepEqual(body.daemons, [{ plugin: 'probe', name: 'probe-sweeper', running: true }]);
    assert.deepEqual(body.worker, { enabled: false, running: 0, maxConcurrency: 2 });
    assert.equal(typeof body.uptimeSeconds, 'number');
    assert.ok(body.routes.some((r: { url: string; auth: string; plugin: string }) => r.url === '/probe/notes' && r.auth === 'token' && r.plugin === 'probe'));
  });

  test(`${d} GET /queue is the instance snapshot with one block per enabled plugin`, async (t) => {
    const { app, kit } = await startHost(t, { dialect, plugins: [probePlugin()] });
    await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: 'q-1', title: 'Queue me' });
    const res = await app.inject({ method: 'GET', url: '/queue' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(body.plugins, { probe: { notes: 0 } });
    assert.equal(body.counts.queued, 1);
    assert.deepEqual(body.running, []);
  });

  test(`${d} GET /tasks filters by repo, stage and live, limits, and serializes dates as ISO strings`, async (t) => {
    const { app, kit } = await startHost(t, { dialect });
    const { intake, store } = kit.conveyor;
    const a = await intake.startPipeline({ repo: 'acme', trackerIssueId: '1', title: 'One' });
    await intake.startPipeline({ repo: 'acme', trackerIssueId: '2', title: 'Two' });
    await intake.startPipeline({ repo: 'other', trackerIssueId: '3', title: 'Three' });
    // A task that ended: only `live=true` leaves it out.
    await store.jobs.cancelActive(a.task.id);
    await kit.conveyor.db.knex.transaction((tx) => store.tasks.moveStage(a.task.id, 'analysis', 'cancelled', { reason: 'test' }, tx));

    const ids = async (query: string) => {
      const res = await app.inject({ method: 'GET', url: `/tasks${query}` });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json().tasks as { title: string }[]).map((x) => x.title);
    };
    assert.deepEqual(await ids(''), ['One', 'Two', 'Three']);
    assert.deepEqual(await ids('?repo=acme'), ['One', 'Two']);
    assert.deepEqual(await ids('?live=true'), ['Two', 'Three']);
    assert.deepEqual(await ids('?repo=acme&live=true'), ['Two']);
    assert.deepEqual(await ids('?stage=cancelled'), ['One']);
    assert.deepEqual(await ids('?limit=2'), ['One', 'Two']);

    const task = (await app.inject({ method: 'GET', url: '/tasks?repo=other' })).json().tasks[0];
    assert.match(task.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(task.stage, 'analysis');
    assert.equal(task.workItemId, 'ET-001', 'the work item counter is per repo');
  });

  test(`${d} GET /tasks/:id of a task with a queued job: jobs, no runs yet, waiting for the job`, async (t) => {
    const { app, kit } = await startHost(t, { dialect });
    const { task, job } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: '7', title: 'Queued' });
    const res = await app.inject({ method: 'GET', url: `/tasks/${task.id}` });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.task.id, task.id);
    assert.deepEqual(body.jobs.map((j: { id: number; status: string }) => [j.id, j.status]), [[job!.id, 'queued']]);
    assert.deepEqual(body.agentRuns, []);
    assert.deepEqual(body.transitions, []);
    assert.deepEqual(body.costs, { perRole: [], total: { runs: 0, inputTokens: 0, cachedTokens: 0, fullInputTokens: 0, outputTokens: 0, costUsd: 0 }, unknownRuns: 0 });
    assert.equal(body.waitingFor.kind, 'slot');
    assert.equal(body.waitingFor.sentence, `Its analyst job ${job!.id} is queued and starts when a worker slot is free (worker.maxConcurrency 2).`);
    assert.deepEqual(body.waitingFor.reasons.map((r: { kind: string; data: { jobId: number } }) => [r.kind, r.data.jobId]), [['worker_slot', job!.id]]);
  });

  test(`${d} GET /tasks/:id of a blocked task says it is blocked and why`, async (t) => {
    const { app, kit } = await startHost(t, { dialect });
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: '8', title: 'Blocked' });
    await kit.conveyor.store.jobs.cancelActive(task.id);
    await kit.conveyor.store.tasks.block(task.id, 'analysis', 'analyst failed 3 times: boom');
    const body = (await app.inject({ method: 'GET', url: `/tasks/${task.id}` })).json();
    assert.equal(body.waitingFor.kind, 'blocked');
    assert.match(body.waitingFor.sentence, /^Blocked at analysis since \d{4}-.*: analyst failed 3 times: boom\.$/);
    assert.equal(body.waitingFor.reasons[0].data.reason, 'analyst failed 3 times: boom');
    assert.equal(body.jobs[0].status, 'cancelled');
  });

  test(`${d} GET /tasks/:id of a task pending at a gate: its run, usage, costs and the waiting gate`, async (t) => {
    const { app, kit } = await startHost(t, { dialect, config: { worker: { enabled: true } } });
    await kit.conveyor.start();
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: '9', title: 'At the gate' });
    await kit.events.waitFor('human.approval_needed', (p) => p.task.id === task.id);
    await kit.events.waitFor('job.finished', (p) => p.job.taskId === task.id);

    const res = await app.inject({ method: 'GET', url: `/tasks/${task.id}` });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(body.jobs.map((j: { status: string; role: string }) => [j.role, j.status]), [['analyst', 'done']]);
    assert.equal(body.agentRuns.length, 1);
    assert.equal(body.agentRuns[0].exitCode, 0);
    assert.deepEqual(body.agentRuns[0].usage, { inputTokens: 1200, outputTokens: 300, cacheReadTokens: 5000, cacheCreationTokens: 100, costUsd: 0.0123, model: 'sonnet-4' });
    assert.deepEqual(body.costs.perRole.map((r: { role: string; runs: number }) => [r.role, r.runs]), [['analyst', 1]]);
    assert.equal(body.costs.total.fullInputTokens, 6300);
    assert.equal(body.costs.total.costUsd, 0.0123);
    assert.equal(body.waitingFor.kind, 'gate');
    assert.equal(body.waitingFor.reasons[0].kind, 'human_approval');
    assert.match(body.waitingFor.sentence, new RegExp(`move the tracker issue to "Approved" \\(or "Rejected" with a comment\\), or with the local tracker run \`conveyor task approve ${task.id}\``));
    assert.equal(body.waitingFor.reasons[0].data.gate, 'human_approved');

    // Answered from stored state: a GET evaluates no gate (gates read git and the forge) and moves nothing.
    const evaluated = kit.events.of('gate.evaluated').length;
    await kit.conveyor.store.tasks.setHumanVerdict(task.id, 'analysis', 'approved');
    const again = (await app.inject({ method: 'GET', url: `/tasks/${task.id}` })).json();
    assert.equal(again.task.stage, 'analysis', 'a GET never moves a task');
    assert.equal(kit.events.of('gate.evaluated').length, evaluated, 'no gate ran for the GET');
  });

  test(`${d} GET /tasks/:id of a task that ended waits for nothing`, async (t) => {
    const { app, kit } = await startHost(t, { dialect });
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: '11', title: 'Ended' });
    await kit.conveyor.store.jobs.cancelActive(task.id);
    await kit.conveyor.db.knex.transaction((tx) => kit.conveyor.store.tasks.moveStage(task.id, 'analysis', 'cancelled', { reason: 'stopped' }, tx));
    const body = (await app.inject({ method: 'GET', url: `/tasks/${task.id}` })).json();
    assert.deepEqual(body.waitingFor, { kind: 'none', sentence: 'Nothing: the task is cancelled.', reasons: [] });
    assert.deepEqual(body.transitions.map((x: { from: string; to: string; reason: string; at: string }) => [x.from, x.to, x.reason, typeof x.at]), [['analysis', 'cancelled', 'stopped', 'string']]);
  });

  test(`${d} an unexpected failure in a core route is a 500 that shows no SQL and no stack`, async (t) => {
    const { app, kit, logs } = await startHost(t, { dialect });
    await kit.conveyor.db.close();
    const res = await app.inject({ method: 'GET', url: '/tasks' });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: 'internal_server_error', message: 'internal server error; see the host log' });
    assert.ok(logs.some((l) => l.msg === 'request failed' && l.err), 'logged with the error');
  });

  test(`${d} GET /tasks/:id answers 404 for an unknown task and 400 naming the param for a bad id`, async (t) => {
    const { app } = await startHost(t, { dialect });
    const missing = await app.inject({ method: 'GET', url: '/tasks/4242' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { error: 'not_found', message: 'task 4242 does not exist' });

    const bad = await app.inject({ method: 'GET', url: '/tasks/abc' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), { error: 'bad_request', message: 'params/id must be integer' });

    const zero = await app.inject({ method: 'GET', url: '/tasks/0' });
    assert.equal(zero.statusCode, 400);
    assert.equal(zero.json().message, 'params/id must be >= 1');
  });

  test(`${d} GET /tasks answers 400 naming the querystring field`, async (t) => {
    const { app } = await startHost(t, { dialect });
    const cases: [string, string][] = [
      ['?limit=0', 'querystring/limit must be >= 1'],
      ['?limit=501', 'querystring/limit must be <= 500'],
      ['?limit=ten', 'querystring/limit must be integer'],
      ['?live=maybe', 'querystring/live must be boolean'],
      ['?repo=', 'querystring/repo must NOT have fewer than 1 characters'],
    ];
    for (const [query, message] of cases) {
      const res = await app.inject({ method: 'GET', url: `/tasks${query}` });
      assert.equal(res.statusCode, 400, query);
      assert.deepEqual(res.json(), { error: 'bad_request', message }, query);
    }
  });

  test(`${d} POST /tasks/:id/stop needs the bearer token; without the cancel plugin it is a 409 naming the plugin`, async (t) => {
    const { app, kit } = await startHost(t, { dialect });
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: '10', title: 'Stop me' });
    const stampedAt = async () => (await kit.conveyor.db.knex('tasks').where({ id: task.id }).first()).cancel_requested_at;

    const none = await app.inject({ method: 'POST', url: `/tasks/${task.id}/stop` });
    assert.equal(none.statusCode, 401);
    assert.deepEqual(none.json(), { error: 'unauthorized', message: 'missing bearer token' });
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="conveyor"');

    const wrong = await app.inject({ method: 'POST', url: `/tasks/${task.id}/stop`, headers: { authorization: 'Bearer not-the-token-at-all-123' } });
    assert.equal(wrong.statusCode, 401);
    assert.deepEqual(wrong.json(), { error: 'unauthorized', message: 'invalid bearer token' });
    const prefix = await app.inject({ method: 'POST', url: `/tasks/${task.id}/stop`, headers: { authorization: 'Bearer test-token' } });
    assert.equal(prefix.statusCode, 401);
    assert.equal(await stampedAt(), null, 'a refused request writes nothing');

    // Without the cancel plugin: a 409 that names the plugin, and nothing written.
    const off = await app.inject({ method: 'POST', url: `/tasks/${task.id}/stop`, headers: { authorization: 'bearer test-token-0123456789abcdef' } });
    assert.equal(off.statusCode, 409);
    assert.equal(off.json().error, 'conflict');
    assert.match(off.json().message, /STOP needs the cancel plugin, which is not enabled: set plugins\.cancel\.enabled: true \(or CONVEYOR_PLUGINS_CANCEL_ENABLED=true\)/);
    assert.equal(await stampedAt(), null);

    const unknown = await app.inject({ method: 'POST', url: '/tasks/999999/stop', headers: { authorization: 'Bearer test-token-0123456789abcdef' } });
    assert.equal(unknown.statusCode, 404);
    assert.deepEqual(unknown.json(), { error: 'not_found', message: 'task 999999 does not exist' });
  });

  test(`${d} POST /tasks/:id/confirm-deploy confirms a task waiting at deploy; nothing to confirm is a 409 that changes nothing`, async (t) => {
    const { app, kit } = await startHost(t, { dialect, config: { repos: { acme: { deploy: { confirm: true } }, other: {} } } });
    const auth = { authorization: 'Bearer test-token-0123456789abcdef' };
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: '20', title: 'Ship me' });
    const confirmedAt = async () => (await kit.conveyor.store.tasks.get(task.id))!.deployConfirmedAt;

    assert.equal((await app.inject({ method: 'POST', url: `/tasks/${task.id}/confirm-deploy` })).statusCode, 401);
    const early = await app.inject({ method: 'POST', url: `/tasks/${task.id}/confirm-deploy`, headers: auth });
    assert.equal(early.statusCode, 409);
    assert.deepEqual(early.json(), { error: 'conflict', message: `task ${task.workItemId} is at analysis, not at deploy` });
    assert.equal(await confirmedAt(), null);

    await kit.conveyor.db.knex('tasks').where({ id: task.id }).update({ stage: 'deploy' });
    const ok = await app.inject({ method: 'POST', url: `/tasks/${task.id}/confirm-deploy`, headers: auth });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { outcome: 'confirmed', confirmed: true, detail: `deploy of ${task.workItemId} confirmed; the deployer runs next` });
    assert.notEqual(await confirmedAt(), null);
    const again = await app.inject({ method: 'POST', url: `/tasks/${task.id}/confirm-deploy`, headers: auth });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().outcome, 'already_confirmed');

    const { task: other } = await kit.conveyor.intake.startPipeline({ repo: 'other', trackerIssueId: '21', title: 'No confirm' });
    await kit.conveyor.db.knex('tasks').where({ id: other.id }).update({ stage: 'deploy' });
    const refused = await app.inject({ method: 'POST', url: `/tasks/${other.id}/confirm-deploy`, headers: auth });
    assert.equal(refused.statusCode, 409);
    assert.match(refused.json().message, /other does not ask for a deploy confirmation/);
    assert.equal((await app.inject({ method: 'POST', url: '/tasks/999999/confirm-deploy', headers: auth })).statusCode, 404);
  });

  test(`${d} POST /tasks/:id/stop with the cancel plugin cancels the task (202), then says it has ended`, async (t) => {
    const { app, kit } = await startHost(t, { dialect, plugins: [cancelPlugin] });
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: '11', title: 'Stop me' });
    const auth = { authorization: 'Bearer test-token-0123456789abcdef' };
    const ok = await app.inject({ method: 'POST', url: `/tasks/${task.id}/stop`, headers: auth });
    assert.equal(ok.statusCode, 202);
    assert.equal(ok.json().firstRequest, true);
    assert.equal(ok.json().state, 'applied');
    assert.equal(ok.json().applied, true);
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'cancelled');
    const again = await app.inject({ method: 'POST', url: `/tasks/${task.id}/stop`, headers: auth });
    assert.equal(again.statusCode, 202);
    assert.deepEqual({ state: again.json().state, applied: again.json().applied }, { state: 'ended', applied: false });
  });

  test(`${d} POST /tasks/:id/retry resumes a blocked task (202, one job); a live task is a 400; the token is needed`, async (t) => {
    const { app, kit } = await startHost(t, { dialect });
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: '12', title: 'Retry me' });
    const auth = { authorization: 'Bearer test-token-0123456789abcdef' };
    assert.equal((await app.inject({ method: 'POST', url: `/tasks/${task.id}/retry`, payload: {} })).statusCode, 401);
    const live = await app.inject({ method: 'POST', url: `/tasks/${task.id}/retry`, headers: auth, payload: {} });
    assert.equal(live.statusCode, 400);
    assert.match(live.json().message, /has a queued agent job/);
    await kit.conveyor.db.knex('jobs').where({ task_id: task.id }).update({ status: 'failed' });
    await kit.conveyor.store.tasks.block(task.id, 'analysis', 'analyst failed 3 times at analysis: boom');
    const bad = await app.inject({ method: 'POST', url: `/tasks/${task.id}/retry`, headers: auth, payload: { from: 'Nope!' } });
    assert.equal(bad.statusCode, 400);
    const res = await app.inject({ method: 'POST', url: `/tasks/${task.id}/retry`, headers: auth, payload: { reason: 'quota restored' } });
    assert.equal(res.statusCode, 202, res.body);
    const body = res.json();
    assert.equal(body.task.blockedReason, null);
    assert.equal(body.to, 'analysis');
    assert.equal(body.stoppedBecause, 'analyst failed 3 times at analysis: boom');
    assert.equal((await kit.conveyor.store.jobs.activeForTask(task.id))!.id, body.jobId);
  });

  test(`${d} unknown routes answer 404 JSON`, async (t) => {
    const { app } = await startHost(t, { dialect });
    const res = await app.inject({ method: 'GET', url: '/nope?x=1' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 'not_found', message: 'no route GET /nope' });
  });
}
