import { Type, type Static } from '@sinclair/typebox';

/** `GET /tasks` query: filters and a page size. Unknown keys are ignored. */
export const TaskListQuery = Type.Object({
  repo: Type.Optional(Type.String({ minLength: 1, description: 'Only tasks of this repo.' })),
  stage: Type.Optional(Type.String({ minLength: 1, description: 'Only tasks at this stage.' })),
  live: Type.Optional(Type.Boolean({ description: 'true: only tasks not done or cancelled.' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'At most this many tasks, oldest first.' }),
});
export type TaskListQuery = Static<typeof TaskListQuery>;

/** `:id` of the task routes. */
export const TaskIdParams = Type.Object({
  id: Type.Integer({ minimum: 1, description: 'Task id.' }),
});
export type TaskIdParams = Static<typeof TaskIdParams>;

/** `POST /tasks/:id/budget` body: the new budget, of the task or of one of its stages. */
export const BudgetBody = Type.Object(
  {
    usd: Type.Number({ exclusiveMinimum: 0, description: 'The new budget in USD; must exceed what was already spent.' }),
    stage: Type.Optional(Type.String({ minLength: 1, description: 'Set this stage\'s budget instead of the task\'s.' })),
  },
  { additionalProperties: false },
);
export type BudgetBody = Static<typeof BudgetBody>;
/** `POST /tasks/:id/retry`. */
export const RetryBody = Type.Object(
  {
    from: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]*$', maxLength: 64, description: "Resume at this stage (the task's own or an earlier one with an agent) instead of the stage it stopped at." })),
    reason: Type.Optional(Type.String({ maxLength: 2000, description: 'Why, in your words: recorded on the task and given to the agent.' })),
  },
  { additionalProperties: false },
);
export type RetryBody = Static<typeof RetryBody>;
/** `/tasks/:id/artefacts/:stage`. */
export const TaskStageParams = Type.Object({
  id: Type.Integer({ minimum: 1, description: 'Task id.' }),
  stage: Type.String({ pattern: '^[a-z][a-z0-9-]*$', maxLength: 64, description: 'Pipeline stage.' }),
});
export type TaskStageParams = Static<typeof TaskStageParams>;
