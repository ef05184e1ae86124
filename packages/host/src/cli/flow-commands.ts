import type { Command } from 'commander';
import type { Output } from './output.js';
import { client, report, type Global } from './task-commands.js';

const common = (c: Command) =>
  c.option('-c, --config <file>', 'config file of the host (default: conveyor.config.yaml here)').option('--url <url>', 'host URL (default: from the config)').option('--json', 'print the raw JSON answer');

interface DepJson {
  dependsOn: number;
  workItemId: string;
  stage: string;
  source: string;
}

/**
 * Flow control through the running host's API: `conveyor serial-gate unfreeze
 * <repo>` (serial-gate) and `conveyor task deps <id> [--add N | --remove N]` (task-deps).
 */
export function registerFlowCommands(program: Command, io: Output, setCode: (n: number) => void): void {
  const sg = program.command('serial-gate').description('serial-gate: lift the freeze of a repository');
  common(sg.command('unfreeze').description("lift a repository's freeze (set after a degraded deploy)"))
    .argument('<repo>', 'the repository')
    .action(async (repo: string, o: Global) => {
      const res = await (await client(o)).request('POST', '/serial-gate/unfreeze', { repo });
      setCode(report(io, res, () => `unfrozen: ${repo}; its tasks may run again`, o.json));
    });

  const task = program.commands.find((c) => c.name() === 'task') ?? program.command('task');
  common(task.command('deps').description('list, add or remove the tasks a task waits for (task-deps)'))
    .argument('<id>', 'task id')
    .option('--add <dep>', 'the task waits until task <dep> has ended')
    .option('--remove <dep>', 'drop the dependency on task <dep>')
    .action(async (id: string, o: Global & { add?: string; remove?: string }) => {
      const api = await client(o);
      const tid = encodeURIComponent(id);
      if (o.add && o.remove) {
        io.err('error: give --add or --remove, not both');
        setCode(2);
        return;
      }
      if (o.add) {
        const res = await api.request('POST', `/tasks/${tid}/deps`, { dependsOn: Number(o.add) });
        setCode(report(io, res, (b: { added: boolean; dependency: DepJson }) => `task ${id} ${b.added ? 'now waits' : 'already waits'} for task ${b.dependency.dependsOn} (${b.dependency.workItemId}, at ${b.dependency.stage})`, o.json));
        return;
      }
      if (o.remove) {
        const res = await api.request('DELETE', `/tasks/${tid}/deps/${encodeURIComponent(o.remove)}`);
        setCode(report(io, res, () => `task ${id} no longer waits for task ${o.remove}`, o.json));
        return;
      }
      const res = await api.request('GET', `/tasks/${tid}/deps`);
      setCode(
        report(
          io,
          res,
          (b: { dependencies: DepJson[] }) =>
            b.dependencies.length ? b.dependencies.map((d) => `  ${String(d.dependsOn).padStart(4)}  ${d.workItemId.padEnd(9)} ${d.stage.padEnd(15)} (${d.source})`).join('\n') : `task ${id} depends on no task`,
          o.json,
        ),
      );
    });
}
