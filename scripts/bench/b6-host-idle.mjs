// B6: the host's idle resident memory and its time from `conveyor start` to
// listening, with the default plugins and a fresh SQLite data dir. No baseline:
// the targets are absolute (< 120 MB, < 1.5 s).
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_SQLITE_YAML, startHost } from './host-process.mjs';
import { line } from './result.mjs';
import { median } from './stats.mjs';

const yaml = LOCAL_SQLITE_YAML;

/** @param {{ dir: string, sizes: { rounds: number, b6IdleMs: number }, log: Function }} o */
export async function runB6(o) {
  const ready = [];
  const rss = [];
  for (let r = 0; r < o.sizes.rounds; r++) {
    // A fresh data dir each round: the first start also migrates, which is the slow case.
    const host = await startHost({ dir: path.join(o.dir, `b6-${r}`), yaml });
    try {
      ready.push(host.readyMs);
      // Idle means after start-up garbage settles; a benchmark may wait, a test may not.
      await sleep(o.sizes.b6IdleMs);
      rss.push(host.rssBytes() / 2 ** 20);
    } finally {
      await host.stop();
    }
    o.log(`  B6 round ${r + 1}/${o.sizes.rounds}: ready ${Math.round(ready.at(-1))} ms, idle RSS ${rss.at(-1).toFixed(1)} MB`);
  }
  const mb = median(rss);
  const ms = median(ready);
  return [
    line({ id: 'B6', metric: 'host idle RSS MB (default plugins, SQLite)', value: mb, ratio: mb / 120, target: '< 120 MB', met: mb < 120 }),
    line({ id: 'B6', metric: 'host start to listening ms (fresh data dir, migrations included)', value: ms, ratio: ms / 1500, target: '< 1500 ms', met: ms < 1500 }),
  ];
}
