import type { GateWait, WaitReason } from './wait-reason.js';

/** The default sentence for a recorded gate verdict, for gates without their own `explain`. */
export function describeGateWait(wait: GateWait, source = 'core'): WaitReason {
  const since = wait.since.toISOString();
  const said = wait.verdict === 'fail' ? 'failed' : wait.verdict === 'defer' ? 'deferred' : 'is pending';
  return {
    kind: wait.verdict === 'fail' ? 'gate_failed' : 'gate_pending',
    source,
    text: `Gate "${wait.gate}" ${said} at ${wait.stage} since ${since}${wait.reason ? `: ${wait.reason}` : ''}.`,
    data: gateWaitData(wait),
  };
}

/** The recorded verdict as plain data, for every gate's explanation. */
export function gateWaitData(wait: GateWait): Record<string, unknown> {
  return { gate: wait.gate, stage: wait.stage, verdict: wait.verdict, reason: wait.reason, since: wait.since.toISOString(), evaluatedAt: wait.evaluatedAt.toISOString() };
}
