import type { BudgetsConfig } from '../config/core-schema.js';
import { ConfigError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';

/**
 * A stage budget for a stage the pipeline does not run (a typo such as
 * `developement`) would silently never stop anything: refuse it at start.
 */
export function validateBudgets(budgets: BudgetsConfig, pipeline: Pipeline): void {
  const agentStages = pipeline.stages.filter((s) => s.agent).map((s) => s.name);
  const issues = Object.keys(budgets.stageUsd)
    .filter((stage) => !agentStages.includes(stage))
    .map((stage) => ({ path: `budgets.stageUsd.${stage}`, expected: `one of the stages with an agent (${agentStages.join(', ')})`, found: JSON.stringify(stage) }));
  if (issues.length) throw new ConfigError(issues);
}
