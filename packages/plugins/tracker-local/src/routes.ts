import { Type } from '@sinclair/typebox';
import { ConveyorError, faultPoint, type Intake, type RouteDescriptor, type StatusNames, type TaskStore } from '@conveyor/core';
import type { LocalTracker } from './local-tracker.js';

export interface RouteDeps {
  tracker: LocalTracker;
  intake: Intake;
  tasks: TaskStore;
  statuses: StatusNames;
  defaultRepo: string;
  /** The repos of `repos.*`: a task for any other could never run. */
  knownRepos: readonly string[];
}

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

const notFound = (what: string) => ({ status: 404, body: { error: 'not_found', message: what } });

/**
 * The local tracker's HTTP surface: create a task (files a local issue in "To
 * Analyse" and starts the pipeline), give the human verdict, read an issue's
 * history. Mutating routes need the host's bearer token.
 */
export function trackerLocalRoutes(d: RouteDeps): RouteDescriptor[] {
  const verdict = (kind: 'approved' | 'rejected'): RouteDescriptor => ({
    method: 'POST',
    url: `/tasks/:id/${kind === 'approved' ? 'approve' : 'reject'}`,
    auth: 'token',
    description: kind === 'approved' ? 'Approve the analysis (the "Approved" status).' : 'Reject the analysis (the "Rejected" status); the analyst runs again with the comment.',
    schema: { params: IdParams, body: Type.Object({ comment: Type.Optional(Type.String({ maxLength: 10_000 })) }, { additionalProperties: false }) },
    async handler(req) {
      const id = Number(req.params.id);
      const task = await d.tasks.get(id);
      if (!task) return notFound(`task ${id} does not exist`);
      const status = kind === 'approved' ? d.statuses.approved : d.statuses.rejected;
      await d.tracker.setStatus({ repo: task.repo, trackerIssueId: task.trackerIssueId }, status, { reason: 'a person' });
      const comment = (req.body as { comment?: string } | undefined)?.comment ?? '';
      if (comment) await d.tracker.addComment({ repo: task.repo, trackerIssueId: task.trackerIssueId }, comment);
      const outcome = await d.intake.humanVerdict(id, kind, comment);
      return { status: 202, body: { taskId: id, verdict: kind, outcome } };
    },
  });

  return [
    {
      method: 'POST',
      url: '/tasks',
      auth: 'token',
      description: 'File a local issue in "To Analyse" and start the pipeline for it. A retry with the same `Idempotency-Key` header files nothing new.',
      schema: {
        body: Type.Object(
          {
            title: Type.String({ minLength: 1, maxLength: 200 }),
            description: Type.Optional(Type.String({ maxLength: 50_000 })),
            repo: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._/-]+$' })),
          },
          { additionalProperties: false },
        ),
      },
      async handler(req) {
        const body = req.body as { title: string; description?: string; repo?: string };
        const title = body.title.trim();
        if (!title) return { status: 400, body: { error: 'bad_request', message: 'body/title must not be blank' } };
        const repo = body.repo ?? d.defaultRepo;
        if (!d.knownRepos.includes(repo)) {
          return { status: 400, body: { error: 'bad_request', message: `body/repo "${repo}" is not a configured repository (known: ${d.knownRepos.join(', ') || 'none'})` } };
        }
        const key = req.headers['idempotency-key'];
        const requestKey = typeof key === 'string' && key.trim() ? `${repo}:${key.trim().slice(0, 200)}` : undefined;
        const issue = await d.tracker.createIssue({ repo, title, description: body.description ?? '', status: d.statuses.toAnalyse, ...(requestKey ? { requestKey } : {}) });
        // Crash window: the issue is filed, its task not yet. A retry with the same
        // Idempotency-Key finds the issue and creates the task (creation is idempotent
        // per issue); without a key, the plugin's start-up pass does (issues in To
        // Analyse that never got a task).
        faultPoint('tracker-local.issue-task');
        try {
          const res = await d.intake.startPipeline({ repo, trackerIssueId: String(issue.id), title, description: issue.description, trackerSequence: issue.id });
          return { status: 201, body: { issue, task: res.task, created: res.created } };
        } catch (err) {
          if (err instanceof ConveyorError && err.code === 'CONVEYOR_INPUT_INVALID') return { status: 400, body: { error: 'bad_request', message: err.message } };
          throw err;
        }
      },
    },
    verdict('approved'),
    verdict('rejected'),
    {
      method: 'GET',
      url: '/local-tracker/issues/:id',
      auth: 'none',
      description: "A local issue with its status history and comments (what Conveyor told the tracker).",
      schema: { params: IdParams },
      async handler(req) {
        const issue = await d.tracker.getIssue(Number(req.params.id));
        if (!issue) return notFound(`local issue ${req.params.id} does not exist`);
        return { status: 200, body: { ...issue, events: await d.tracker.events(issue.id) } };
      },
    },
  ];
}
