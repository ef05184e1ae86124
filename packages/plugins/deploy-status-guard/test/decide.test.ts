import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide } from '../src/index.js';

test('decide: every stage and window state, by the rules', () => {
  const cases: [string, boolean, string][] = [
    ['analysis', false, 'ALLOW'],
    ['deploy-staging', false, 'ALLOW'],
    ['deploy', false, 'ALLOW'],
    ['deploy', true, 'ALLOW'],
    ['done', true, 'ALLOW'],
    ['done', false, 'CONVERGE_DONE'],
    ['cancelled', false, 'SUPPRESS'],
    ['cancelled', true, 'SUPPRESS'],
  ];
  for (const [stage, windowActive, verdict] of cases) assert.equal(decide({ stage, windowActive }), verdict, `${stage}, window ${windowActive ? 'open' : 'closed'}`);
});
