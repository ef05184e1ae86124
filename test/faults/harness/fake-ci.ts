import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FakeGitea } from '@conveyor/plugin-forge-gitea/testing';

const run = promisify(execFile);

/**
 * Stands in for Gitea's CI: each branch head Conveyor pushes to the local origin
 * shows up on the fake Gitea with a pending, then a green `ci/build` status (sent
 * as webhooks, through the relay when there is one). Each head is reported once:
 * a status lost on the way is for the reconciler to make up for.
 */
export function mirrorPushesToGitea(origin: string, gitea: FakeGitea, repo: string): () => Promise<void> {
  const seen = new Map<string, string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { stdout } = await run('git', ['for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/heads'], { cwd: origin });
        for (const line of stdout.trim().split('\n').filter(Boolean)) {
          const [branch, sha] = line.split(' ') as [string, string];
          if (branch === 'main' || seen.get(branch) === sha) continue;
          seen.set(branch, sha);
          gitea.push(repo, branch, sha);
          await gitea.sendStatus(repo, sha, 'pending', 'ci/build');
          await gitea.sendStatus(repo, sha, 'success', 'ci/build');
        }
      } catch {
        // The origin is being written to (a push in flight): look again next round.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}
