import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { findBwrap, openDatabase, probeBubblewrap, redactCredentials, redactUrl, type ConveyorConfig } from '@conveyor/core';
import { probeClaude, resolveCommand, type AgentClaudeConfig } from '@conveyor/plugin-agent-claude';
import { loadHostConfig } from './host-config.js';
import type { Output } from './output.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

async function version(cmd: string, args: string[] = ['--version']): Promise<string | null> {
  try {
    const r = await execa(cmd, args, { reject: false, timeout: 10_000 });
    return r.exitCode === 0 ? String(r.stdout).trim().split('\n')[0] ?? '' : null;
  } catch {
    return null;
  }
}

/** The first word of a shell command line, unquoted. */
function firstWord(command: string): string {
  const m = /^\s*(?:"([^"]+)"|'([^']+)'|(\S+))/.exec(command);
  return m?.[1] ?? m?.[2] ?? m?.[3] ?? '';
}

/** One authenticated GET: reachable and accepted (2xx), or what went wrong. Never prints the credential. */
async function reach(name: string, url: string, headers: Record<string, string>, fix: string): Promise<Check> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) });
    const ok = res.status >= 200 && res.status < 300;
    return { name, ok, detail: `${redactCredentials(url)} answered ${res.status}${res.status === 401 || res.status === 403 ? ' (credentials refused)' : ''}`, fix };
  } catch (err) {
    return { name, ok: false, detail: `${redactCredentials(url)} unreachable: ${(err as Error).message}`, fix };
  }
}

/** Whether agents will run sandboxed: bubblewrap works, is missing (auto: a warning, not a failure) or is off. */
async function sandboxCheck(mode: ConveyorConfig['workspaces']['sandbox']): Promise<Check> {
  const name = 'agent sandbox';
  if (mode === 'none') return { name, ok: true, detail: 'off (workspaces.sandbox: none): agents can read everything this user can' };
  const bwrap = findBwrap();
  const probe = bwrap ? await probeBubblewrap(bwrap) : { ok: false, detail: 'bwrap not found on PATH' };
  if (probe.ok) return { name, ok: true, detail: `bubblewrap works: ${probe.detail}` };
  const fix = 'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow unprivileged user namespaces, or set workspaces.sandbox: none';
  if (mode === 'bubblewrap') return { name, ok: false, detail: `${probe.detail} (workspaces.sandbox: bubblewrap: agents will not start)`, fix };
  return { name, ok: true, detail: `unavailable, agents run unsandboxed: ${probe.detail}; to sandbox them: ${fix}` };
}

/**
 * Runs every check for one config; never throws. `baseDir` is where relative paths
 * of the config are from (the config file's directory).
 */
export async function runChecks(config: ConveyorConfig, options: { baseDir?: string } = {}): Promise<Check[]> {
  const baseDir = options.baseDir ?? process.cwd();
  const checks: Check[] = [];
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  checks.push({ name: 'node', ok: major > 20 || (major === 20 && minor >= 19), detail: `v${process.versions.node}`, fix: 'install Node.js 20.19 or newer' });
  const gitV = await version('git');
  const gitNum = /(\d+)\.(\d+)/.exec(gitV ?? '');
  const gitOk = !!gitNum && (Number(gitNum[1]) > 2 || (Number(gitNum[1]) === 2 && Number(gitNum[2]) >= 38));
  checks.push({ name: 'git', ok: gitOk, detail: gitV ?? 'not found', fix: 'install git 2.38 or newer (merge-tree --write-tree)' });
  try {
    const db = await openDatabase(config.database);
    await db.close();
    checks.push({ name: 'database', ok: true, detail: config.database.client === 'pg' ? redactUrl(config.database.url ?? '') : path.resolve(config.database.filename) });
  } catch (err) {
    checks.push({ name: 'database', ok: false, detail: (err as Error).message, fix: config.database.client === 'pg' ? 'check database.url (CONVEYOR_DATABASE_URL) and that PostgreSQL runs' : 'check database.filename is writable' });
  }
  checks.push(await sandboxCheck(config.workspaces.sandbox));
  const plugins = config.plugins;
  const script = plugins['agent-script'];
  if (script?.enabled) {
    const commands = [...Object.values((script.commands as Record<string, string>) ?? {}), ...(script.defaultCommand ? [script.defaultCommand as string] : [])];
    for (const cmd of new Set(commands.map(firstWord))) {
      const found = cmd.includes('/') ? fs.existsSync(cmd) : (await version('sh', ['-c', `command -v ${JSON.stringify(cmd)}`])) !== null;
      checks.push({ name: `agent command ${cmd}`, ok: found, detail: found ? 'found' : 'not found', fix: 'fix plugins.agent-script.commands / defaultCommand' });
    }
  }
  const claude = plugins['agent-claude'];
  if (claude?.enabled) {
    // A real one-line run, as jobs run it: `--version` passes on a CLI that is not logged in.
    const section = claude as unknown as AgentClaudeConfig;
    const command = resolveCommand(section.command, baseDir);
    const v = await version(command);
    const probe = await probeClaude({ ...section, command });
    checks.push({ name: 'claude CLI', ok: probe.ok, detail: `${v ?? command}: ${probe.detail}`, ...(probe.fix ? { fix: probe.fix } : {}) });
  }
  if (plugins['forge-git']?.enabled) {
    for (const [repo, cfg] of Object.entries(config.repos)) {
      const origin = cfg.url ? path.resolve(cfg.url.replace(/^file:\/\//, '')) : null;
      const exists = !!origin && fs.existsSync(path.join(origin, 'HEAD'));
      const willInit = plugins['forge-git'].initMissing === true;
      checks.push({ name: `origin of ${repo}`, ok: exists || (willInit && !!origin), detail: origin ? (exists ? origin : `${origin} (created on start)`) : 'repos.<repo>.url not set', fix: `create a bare repository at repos.${repo}.url or set plugins.forge-git.initMissing` });
    }
  }
  const plane = plugins['tracker-plane'];
  if (plane?.enabled) {
    // The states of each configured project: reachable, the key accepted, the project visible to the bot.
    const base = `${String(plane.baseUrl ?? '').replace(/\/+$/, '')}/api/v1/workspaces/${encodeURIComponent(String(plane.workspaceSlug ?? ''))}/projects`;
    const projects = Object.keys((plane.projects as Record<string, unknown>) ?? {});
    if (!projects.length) checks.push({ name: 'Plane', ok: false, detail: 'no project configured', fix: 'map a Plane project id to a repo in plugins.tracker-plane.projects' });
    for (const id of projects) {
      checks.push(await reach(`Plane project ${id}`, `${base}/${encodeURIComponent(id)}/states/?per_page=1`, { 'X-API-Key': String(plane.apiKey ?? '') }, 'check plugins.tracker-plane.baseUrl, workspaceSlug, the project id and the API key (PLANE_API_KEY)'));
    }
  }
  const gitea = plugins['forge-gitea'];
  if (gitea?.enabled) {
    const url = `${String(gitea.baseUrl ?? '').replace(/\/+$/, '')}/api/v1/user`;
    checks.push(await reach('Gitea', url, { Authorization: `token ${String(gitea.token ?? '')}` }, 'check plugins.forge-gitea.baseUrl and the token (GITEA_TOKEN)'));
  }
  if (Object.keys(config.repos).length === 0) checks.push({ name: 'repos', ok: false, detail: 'no repository configured', fix: 'add repos.<name>.url to the config' });
  return checks;
}

/** `conveyor doctor`: says what works and what to fix. Exit 1 when something is broken. */
export async function runDoctor(opts: { config?: string }, io: Output): Promise<number> {
  const hc = await loadHostConfig({ ...(opts.config ? { config: opts.config } : {}), allBundled: true });
  io.out(`config: ${hc.file ?? 'embedded default'}`);
  const checks = await runChecks(hc.config, { baseDir: hc.baseDir });
  for (const c of checks) io.out(`${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}${c.ok || !c.fix ? '' : `\n    fix: ${c.fix}`}`);
  const bad = checks.filter((c) => !c.ok).length;
  io.out(bad ? `${bad} problem${bad > 1 ? 's' : ''} found` : 'all checks passed');
  return bad ? 1 : 0;
}
