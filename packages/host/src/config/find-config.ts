import path from 'node:path';
import { findConfigFile } from '@conveyor/core';

/**
 * The nearest `conveyor.config.yaml|.yml|.json` in `dir` or any directory above it
 * (as git and eslint look for theirs), so the CLI works from anywhere inside a
 * repository; null when there is none up to the filesystem root.
 */
export function findConfigUpward(dir: string): string | null {
  let cur = path.resolve(dir);
  for (;;) {
    const found = findConfigFile(cur);
    if (found) return found;
    const parent = path.dirname(cur);
    if (parent === cur) return null;
    cur = parent;
  }
}
