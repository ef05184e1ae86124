import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricsEnvelope } from './collect.js';

const STAGE_BUCKETS = [1, 10, 60, 300, 900, 1800, 3600, 7200, 21600, 86400];
const AGENT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/**
 * The Prometheus side, on prom-client with a registry of its own (never the
 * process-global one: two instances in a process must not share series). Gauges
 * are set from the JSON envelope at scrape time; the histograms are fed by events
 * as they happen, so they cover what this process saw since it started.
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  readonly stageDuration = new Histogram({ name: 'conveyor_stage_duration_seconds', help: 'Time a task spent in a stage, observed when it leaves it.', labelNames: ['stage'], buckets: STAGE_BUCKETS, registers: [this.registry] });
  readonly agentDuration = new Histogram({ name: 'conveyor_agent_duration_seconds', help: 'Wall time of one agent run.', labelNames: ['agent', 'outcome'], buckets: AGENT_BUCKETS, registers: [this.registry] });
  readonly webhookToTask = new Histogram({ name: 'conveyor_webhook_to_task_seconds', help: 'From accepting the webhook delivery that created a task to the task existing.', buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [this.registry] });
  readonly #tasks = new Gauge({ name: 'conveyor_tasks', help: 'Tasks per stage.', labelNames: ['stage'], registers: [this.registry] });
  readonly #jobs = new Gauge({ name: 'conveyor_jobs', help: 'Jobs per status.', labelNames: ['status'], registers: [this.registry] });
  readonly #retries = new Gauge({ name: 'conveyor_job_retries_spent', help: 'Retries spent by all jobs.', registers: [this.registry] });
  readonly #exhausted = new Gauge({ name: 'conveyor_jobs_retry_exhausted', help: 'Jobs that failed with their retry budget spent.', registers: [this.registry] });
  readonly #running = new Gauge({ name: 'conveyor_agents_running', help: 'Agent jobs running.', registers: [this.registry] });
  readonly #cost = new Gauge({ name: 'conveyor_agent_cost_usd', help: 'USD spent by agent runs, per agent role.', labelNames: ['agent'], registers: [this.registry] });
  readonly #tokens = new Gauge({ name: 'conveyor_agent_tokens', help: 'Tokens of agent runs, per agent role and kind.', labelNames: ['agent', 'kind'], registers: [this.registry] });
  readonly #blocked = new Gauge({ name: 'conveyor_tasks_budget_blocked', help: 'Live tasks stopped by their cost budget.', registers: [this.registry] });
  readonly sectionErrors = new Counter({ name: 'conveyor_metrics_section_errors_total', help: 'Metrics sections that could not be read.', labelNames: ['section'], registers: [this.registry] });

  /** Text exposition of the envelope's figures plus the histograms. */
  async render(m: MetricsEnvelope): Promise<string> {
    this.#tasks.reset();
    this.#jobs.reset();
    this.#cost.reset();
    this.#tokens.reset();
    for (const [stage, n] of Object.entries(m.stages ?? {})) this.#tasks.set({ stage }, n);
    for (const [status, n] of Object.entries(m.queue?.jobs ?? {})) this.#jobs.set({ status }, n);
    if (m.queue) {
      this.#retries.set(m.queue.retries.retries_spent);
      this.#exhausted.set(m.queue.retries.exhausted);
    }
    if (m.agents) this.#running.set(m.agents.running.length);
    for (const a of m.cost?.per_agent ?? []) {
      this.#cost.set({ agent: a.agent }, a.cost_usd);
      this.#tokens.set({ agent: a.agent, kind: 'input' }, a.input_tokens);
      this.#tokens.set({ agent: a.agent, kind: 'output' }, a.output_tokens);
      this.#tokens.set({ agent: a.agent, kind: 'cache_read' }, a.cache_read_tokens);
      this.#tokens.set({ agent: a.agent, kind: 'cache_creation' }, a.cache_creation_tokens);
    }
    if (m.budgets) this.#blocked.set(m.budgets.blocked);
    for (const [name, value] of Object.entries({ stages: m.stages, queue: m.queue, agents: m.agents, cost: m.cost, budgets: m.budgets })) {
      if (value === null) this.sectionErrors.inc({ section: name });
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
