import { Command, CommanderError } from 'commander';
import { stringify } from 'yaml';
import { ConfigError, ConveyorError, createConveyor, redactConfig } from '@conveyor/core';
import { describeCliError } from './cli-errors.js';
import { hostVersion, loadHostConfig } from './host-config.js';
import { consoleOutput, type Output } from './output.js';
import { runStart } from './start.js';
import { describeTaskGroup, registerTaskCommands } from './task-commands.js';
import { registerFlowCommands } from './flow-commands.js';

/**
 * Builds the `conveyor` command line; `setCode` receives each command's exit code.
 * `init`, `demo` and `doctor` are imported when run: `conveyor start` never loads them.
 */
export function buildProgram(io: Output, setCode: (code: number) => void): Command {
  const program = new Command('conveyor')
    .description('Conveyor carries tracker tasks through a pipeline of AI coding agents to a merged change.')
    .version(hostVersion())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command('start')
    .description('run the host: HTTP API and webhooks, worker and daemons (Ctrl-C stops it cleanly)')
    .option('-c, --config <file>', 'config file (default: the nearest conveyor.config.yaml here or above, else the embedded default)')
    .option('-p, --port <port>', 'port to listen on (default: host.port)', (v) => Number.parseInt(v, 10))
    .option('--log-format <format>', 'pretty (lines for people) or json (one JSON object a line); default: pretty on a terminal, json when piped')
    .action(async (o: { config?: string; port?: number; logFormat?: string }) => setCode(await runStart(o, io)));

  program
    .command('init')
    .description('write a commented conveyor.config.yaml for the git repository you are in')
    .option('--agent <agent>', '"demo" (the scripted demo agents) or "claude" (Claude Code)', 'demo')
    .option('--use-origin', "work on the repository's origin remote instead of a bare copy under .conveyor/")
    .option('--force', 'replace an existing config file')
    .action(async (o: { agent?: string; useOrigin?: boolean; force?: boolean }) => setCode(await (await import('./init.js')).runInit(o, io)));

  program
    .command('demo')
    .description('run one task end to end on a throwaway demo repository with the scripted agents')
    .option('--json', 'end with one JSON line: {"task","final_stage","stages","merged","cost_usd"}')
    .option('--keep', 'keep the demo directory (database, repositories, logs)')
    .option('--dir <dir>', 'use (and keep) this directory')
    .option('-t, --title <title>', 'title of the demo task', 'Add a greeting')
    .action(async (o: { json?: boolean; keep?: boolean; dir?: string; title?: string }) => setCode(await (await import('./demo.js')).runDemo(o, io)));

  program
    .command('migrate')
    .description('bring the database schema up to date (core and enabled plugins) and exit')
    .option('-c, --config <file>', 'config file')
    .action(async (o: { config?: string }) => {
      const hc = await loadHostConfig(o.config ? { config: o.config } : {});
      const { silentLogger } = await import('@conveyor/core');
      const conveyor = await createConveyor({ config: hc.raw, plugins: hc.plugins, logger: silentLogger(), env: hc.env, baseDir: hc.baseDir });
      await conveyor.stop();
      io.out(conveyor.migrationsRun.length ? `applied: ${conveyor.migrationsRun.join(', ')}` : 'the database is up to date');
      setCode(0);
    });

  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate the configuration and print the effective values, secrets redacted')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print JSON instead of YAML')
    .action(async (o: { config?: string; json?: boolean }) => {
      // Every bundled plugin, so each section is shown with its defaults, on or off.
      const hc = await loadHostConfig({ ...(o.config ? { config: o.config } : {}), allBundled: true });
      const shown = redactConfig(hc.config, hc.plugins);
      io.err(`# ${hc.file ?? 'embedded default'}: valid`);
      io.out(o.json ? JSON.stringify(shown, null, 2) : stringify(shown).trimEnd());
      setCode(0);
    });

  registerTaskCommands(program, io, setCode);
  registerFlowCommands(program, io, setCode);
  describeTaskGroup(program);

  program
    .command('run')
    .description("run a plugin's own sub-command (`conveyor run` alone lists them)")
    .argument('[command]', 'the command name')
    .argument('[args...]', 'its arguments')
    .option('-c, --config <file>', 'config file')
    .allowUnknownOption()
    .action(async (name: string | undefined, args: string[], o: { config?: string }) => {
      const hc = await loadHostConfig(o.config ? { config: o.config } : {});
      const { silentLogger } = await import('@conveyor/core');
      const conveyor = await createConveyor({ config: hc.raw, plugins: hc.plugins, logger: silentLogger(), env: hc.env, baseDir: hc.baseDir });
      try {
        const commands = conveyor.extensions.commands;
        const found = commands.find((c) => c.command.name === name);
        if (!found) {
          io.out(commands.length ? commands.map((c) => `${c.command.name.padEnd(20)} ${c.command.description} (${c.plugin})`).join('\n') : 'no enabled plugin has sub-commands');
          setCode(name ? 3 : 0);
          return;
        }
        setCode(await found.command.run(args));
      } finally {
        await conveyor.stop();
      }
    });

  program
    .command('doctor')
    .description('check git, the agent commands, the database and the repositories, and say what to fix')
    .option('-c, --config <file>', 'config file')
    .action(async (o: { config?: string }) => setCode(await (await import('./doctor.js')).runDoctor(o, io)));

  return program;
}

/** Runs the CLI; resolves with the exit code (never calls `process.exit`). */
export async function main(argv: readonly string[], io: Output = consoleOutput): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 2;
    }
    // A config file or a plugin module that cannot be read: the message names the path.
    if (err instanceof ConveyorError && (err.code === 'CONVEYOR_CONFIG_FILE' || err.code === 'CONVEYOR_PLUGIN_MODULE')) {
      io.err(`conveyor: ${err.message}`);
      return 2;
    }
    io.err(`conveyor: ${describeCliError(err)}`);
    return 1;
  }
}
