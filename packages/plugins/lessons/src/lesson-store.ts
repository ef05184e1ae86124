import { KeyedMutex, toError, type Clock, type Database, type Logger } from '@conveyor/core';

type Knex = Database['knex'];

export type LessonSource = 'manual' | 'auto';
export const LESSON_STATUSES = ['open', 'resolved', 'dismissed'] as const;
export type LessonStatus = (typeof LESSON_STATUSES)[number];

/** One lesson, as the API returns it. */
export interface Lesson {
  id: number;
  slug: string;
  title: string;
  body: string;
  source: LessonSource;
  kind: string;
  repo: string | null;
  taskId: number | null;
  stage: string | null;
  status: LessonStatus;
  /** The agent role, model and run the lesson is about, when there is one. */
  agent: string | null;
  model: string | null;
  runId: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewLesson {
  slug: string;
  title: string;
  body?: string;
  source: LessonSource;
  kind: string;
  repo?: string | null;
  taskId?: number | null;
  stage?: string | null;
  agent?: string | null;
  model?: string | null;
  runId?: number | null;
}

export interface LessonFilter {
  repo?: string;
  kind?: string;
  status?: LessonStatus;
  limit: number;
}

type Row = Record<string, unknown>;
const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const s = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function toLesson(r: Row): Lesson {
  return {
    id: Number(r.id),
    slug: String(r.slug),
    title: String(r.title),
    body: String(r.body ?? ''),
    source: String(r.source) as LessonSource,
    kind: String(r.kind),
    repo: s(r.repo),
    taskId: n(r.task_id),
    stage: s(r.stage),
    status: String(r.status) as LessonStatus,
    agent: s(r.agent),
    model: s(r.model),
    runId: n(r.run_id),
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

/**
 * The lessons table. No method raises: the journal is an observer, and a failure to
 * write it (a locked database, a dropped table) is logged and answered with
 * null / [] — it must never travel up into the event, gate or route that caused it.
 */
export class LessonStore {
  readonly #dedupe = new KeyedMutex();

  constructor(
    private readonly knex: Knex,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Inserts a lesson; null when it could not be written. */
  async record(input: NewLesson): Promise<Lesson | null> {
    return this.#safe('record', null, async () => {
      const now = this.clock.now();
      const rows = (await this.knex('lessons')
        .insert({
          slug: input.slug,
          title: input.title,
          body: input.body ?? '',
          source: input.source,
          kind: input.kind,
          repo: input.repo ?? null,
          task_id: input.taskId ?? null,
          stage: input.stage ?? null,
          status: 'open',
          agent: input.agent ?? null,
          model: input.model ?? null,
          run_id: input.runId ?? null,
          created_at: now,
          updated_at: now,
        })
        .returning('*')) as Row[];
      return toLesson(rows[0]!);
    });
  }

  /**
   * Inserts unless a lesson with the same slug and task was recorded within
   * `windowMs`: a gate that fails on every re-drive is one lesson, not fifty.
   * Returns the new lesson, or null (a duplicate, or not written). Serialised per
   * slug and task in this process, so two events at once make one lesson; two hosts
   * may each record one (a journal tolerates that, a lock would not be worth it).
   */
  recordOnce(input: NewLesson, windowMs: number): Promise<Lesson | null> {
    return this.#dedupe.run(`${input.slug}\u0000${input.taskId ?? ''}`, () => this.#recordOnce(input, windowMs));
  }

  async #recordOnce(input: NewLesson, windowMs: number): Promise<Lesson | null> {
    const seen = await this.#safe('recordOnce', true, async () => {
      const q = this.knex('lessons').select('id').where({ slug: input.slug }).andWhere('created_at', '>=', this.clock.now() - windowMs);
      if (input.taskId === null || input.taskId === undefined) q.whereNull('task_id');
      else q.andWhere('task_id', input.taskId);
      return !!(await q.first());
    });
    return seen ? null : this.record(input);
  }

  async get(id: number): Promise<Lesson | null> {
    return this.#safe('get', null, async () => {
      const row = (await this.knex('lessons').where({ id }).first()) as Row | undefined;
      return row ? toLesson(row) : null;
    });
  }

  /** Newest first. */
  async list(filter: LessonFilter): Promise<Lesson[]> {
    return this.#safe('list', [], async () => {
      const q = this.knex('lessons').orderBy('id', 'desc').limit(filter.limit);
      if (filter.repo) q.where('repo', filter.repo);
      if (filter.kind) q.where('kind', filter.kind);
      if (filter.status) q.where('status', filter.status);
      return ((await q) as Row[]).map(toLesson);
    });
  }

  /** Updates status, title or body; null when the lesson does not exist (or the write failed). */
  async update(id: number, patch: { status?: LessonStatus; title?: string; body?: string }): Promise<Lesson | null> {
    return this.#safe('update', null, async () => {
      const values: Row = { updated_at: this.clock.now() };
      if (patch.status !== undefined) values.status = patch.status;
      if (patch.title !== undefined) values.title = patch.title;
      if (patch.body !== undefined) values.body = patch.body;
      const n = await this.knex('lessons').where({ id }).update(values);
      return n === 1 ? this.get(id) : null;
    });
  }

  async #safe<T>(op: string, fallback: T, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.logger.error({ op, err: toError(err) }, 'lessons store failed; the journal misses this entry');
      return fallback;
    }
  }
}
