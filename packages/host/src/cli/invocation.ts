import fs from 'node:fs';
import path from 'node:path';

/** The published package whose bin is the CLI: `npm i -g @conveyor/host`, or `npx @conveyor/host …`. */
export const HOST_PACKAGE = '@conveyor/host';

/**
 * The command a hint should print so that pasting it works from where the person is.
 * `npx conveyor` outside a project that has the host installed fetches an unrelated
 * npm package named `conveyor`, so the bare name is only printed where it resolves:
 * - run through npx's cache (`…/_npx/…`) → `npx @conveyor/host`;
 * - through a project's `node_modules/.bin` → `npx conveyor` (npx finds the local bin);
 * - the script itself (`node …/bin/conveyor.js`, `npm start` in the checkout) → `npx conveyor`
 *   when the working directory's project links the bin, else `node <script>`;
 * - anything else (a global install on PATH) → `conveyor`.
 */
export function cliCommand(argv1: string | undefined = process.argv[1], cwd: string = process.cwd()): string {
  if (!argv1) return 'conveyor';
  const parts = argv1.split(path.sep);
  if (parts.includes('_npx')) return `npx ${HOST_PACKAGE}`;
  if (parts.at(-2) === '.bin' && parts.at(-3) === 'node_modules') return 'npx conveyor';
  if (path.basename(argv1) === 'conveyor.js') {
    return fs.existsSync(path.join(cwd, 'node_modules', '.bin', 'conveyor')) ? 'npx conveyor' : `node ${JSON.stringify(argv1).slice(1, -1).includes(' ') ? JSON.stringify(argv1) : argv1}`;
  }
  return 'conveyor';
}
