import type { Logger } from '../logger.js';
import { ensurePrivateDir, tightenPrivateFile, warnModeChanges, type ModeChange } from '../util/private-paths.js';
import { sqliteFiles, type DatabaseConfig } from './database.js';

/**
 * Makes the instance's local state private before anything is written to it: the
 * data directory (database, token, agent logs) exists with mode 0700 and the SQLite
 * files have 0600. Earlier versions created them 0755/0644, so an existing install
 * is narrowed here, with one warning listing what changed. Returns the changes.
 */
export function secureLocalState(config: { instance: { dataDir: string }; database: DatabaseConfig }, logger: Logger): ModeChange[] {
  const changes = [
    ensurePrivateDir(config.instance.dataDir),
    ...(config.database.client === 'sqlite' && config.database.filename ? sqliteFiles(config.database.filename).map(tightenPrivateFile) : []),
  ].filter((c): c is ModeChange => c !== null);
  warnModeChanges(logger, changes, "Conveyor's database and logs");
  return changes;
}
