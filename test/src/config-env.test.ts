import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildConfigSchema, configKeys } from '@conveyor/core';
import { envOverridesThatFail } from '@conveyor/core/testing';
import { BUNDLED_PLUGINS } from '@conveyor/host';

test('every CONVEYOR_ variable of core and of every bundled plugin controls its key', () => {
  const keys = configKeys(buildConfigSchema(BUNDLED_PLUGINS));
  for (const plugin of BUNDLED_PLUGINS) assert.ok(keys.some((k) => k.env === `CONVEYOR_PLUGINS_${plugin.name.toUpperCase().replace(/-/g, '_')}_ENABLED`), plugin.name);
  assert.ok(keys.some((k) => k.env === 'CONVEYOR_PLUGINS_AGENT_CLAUDE_PERMISSION_MODE'));
  assert.deepEqual(envOverridesThatFail(BUNDLED_PLUGINS), []);
});
