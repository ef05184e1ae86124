import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EMBEDDING_OUTPUT } from './embedding-output.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Packed {
  name: string;
  filename: string;
  files: { path: string }[];
}

function versionIn(dir: string, pkg: string): string {
  return (JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

/** A script an embedder might write: SQLite through the driver it did not install. */
const MISSING_DRIVER = `import 'reflect-metadata';
import { createConveyor, silentLogger } from '@conveyor/core';
try {
  await createConveyor({ config: { database: { client: 'sqlite', sqliteDriver: 'sqlite3', filename: 'x.db' } }, plugins: [], logger: silentLogger() });
  console.log('opened');
} catch (err) {
  console.log(err.code + ': ' + err.message);
}
`;

test('every package packs with what it needs; the tarballs install into a fresh project, run the embedding example and the CLI', { timeout: 300_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-packed-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tgz = path.join(dir, 'tgz');
  fs.mkdirSync(tgz);
  const started = Date.now();
  const workspaces = ['packages/core', ...fs.readdirSync(path.join(root, 'packages/plugins'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `packages/plugins/${d.name}`), 'packages/host'];
  const { stdout } = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', tgz, ...workspaces.flatMap((w) => ['-w', w])], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  const packed = JSON.parse(stdout) as Packed[];
  assert.equal(packed.length, workspaces.length);

  for (const p of packed) {
    const files = p.files.map((f) => f.path);
    assert.ok(files.includes('package.json') && files.includes('README.md') && files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts'), `${p.name} ships its build, types and README`);
    const stray = files.filter((f) => /(^|\/)(test|dist\/test)\//.test(f) || f.endsWith('.tsbuildinfo') || (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.startsWith('node_modules/'));
    assert.deepEqual(stray, [], `${p.name} ships no tests, sources or build state`);
  }
  const host = packed.find((p) => p.name === '@conveyor/host')!.files.map((f) => f.path);
  assert.ok(host.includes('bin/conveyor.js') && host.includes('demo/agent.mjs'), 'the host ships its bin and the demo agent');

  // A fresh project, outside the repository, that depends on the tarballs (and, like
  // any embedder, on fastify and reflect-metadata itself).
  const project = path.join(dir, 'embedder');
  fs.mkdirSync(project);
  const deps: Record<string, string> = Object.fromEntries(packed.map((p) => [p.name, `file:${path.join(tgz, p.filename)}`]));
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({
      name: 'embedder',
      private: true,
      type: 'module',
      dependencies: { ...deps, fastify: versionIn(root, 'fastify'), 'reflect-metadata': versionIn(root, 'reflect-metadata') },
      // The tarballs depend on each other by version; they are not on the registry.
      overrides: Object.fromEntries(packed.map((p) => [p.name, `$${p.name}`])),
    }),
  );
  // --ignore-scripts: the native SQLite driver is not compiled again; the repository's
  // build of the same version is copied in below.
  await run(npm, ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
  const installedMs = Date.now() - started;
  assert.equal(fs.existsSync(path.join(project, 'node_modules', 'better-sqlite3')), true, 'the host brings the default driver');
  assert.equal(fs.existsSync(path.join(project, 'node_modules', 'pg')), true, 'the host brings pg');
  assert.equal(fs.existsSync(path.join(project, 'node_modules', 'sqlite3')), false, 'the other SQLite driver is optional: not installed');
  if (versionIn(project, 'better-sqlite3') === versionIn(root, 'better-sqlite3')) {
    fs.cpSync(path.join(root, 'node_modules', 'better-sqlite3', 'build'), path.join(project, 'node_modules', 'better-sqlite3', 'build'), { recursive: true });
  } else {
    await run(npm, ['rebuild', 'better-sqlite3'], { cwd: project });
  }

  fs.copyFileSync(path.join(root, 'examples', 'embedding', 'embed.mjs'), path.join(project, 'embed.mjs'));
  const embedded = await run(process.execPath, ['embed.mjs', '--once'], { cwd: project, env: { ...process.env, CONVEYOR_LOG_LEVEL: 'silent' } });
  assert.deepEqual(JSON.parse(embedded.stdout.trim().split('\n').at(-1)!), EMBEDDING_OUTPUT);

  fs.writeFileSync(path.join(project, 'missing-driver.mjs'), MISSING_DRIVER);
  const missing = await run(process.execPath, ['missing-driver.mjs'], { cwd: project });
  assert.equal(missing.stdout.trim(), 'CONVEYOR_DATABASE_DRIVER: database.sqliteDriver "sqlite3" needs the package "sqlite3", which is not installed: npm install sqlite3');

  // The CLI from the installed package: the scoped npx finds it, and its hints print a command that works here.
  const version = await run(npm, ['exec', '--offline', '--', '@conveyor/host', '--version'], { cwd: project });
  assert.equal(version.stdout.trim(), '0.1.0');
  const unknown = await run(path.join(project, 'node_modules', '.bin', 'conveyor'), ['task', 'shwo'], { cwd: project }).catch((err: { code: number; stderr: string }) => err);
  assert.equal((unknown as { code: number }).code, 2);
  assert.match((unknown as { stderr: string }).stderr, /\(`npx conveyor task --help`\)/);
  const demo = await run(path.join(project, 'node_modules', '.bin', 'conveyor'), ['demo', '--json'], { cwd: project, env: { ...process.env, TMPDIR: dir } });
  assert.equal((JSON.parse(demo.stdout.trim()) as { final_stage: string; merged: boolean }).merged, true);
  t.diagnostic(`pack + install from tarballs: ${installedMs} ms; whole test: ${Date.now() - started} ms`);
});
