import type { Knex } from 'knex';
import { ConveyorError } from '../errors.js';
import type { Dialect } from './database.js';

/**
 * One schema change. Names are `<owner>/<NNNN>_<what>` (`core/0001_init`,
 * `serial-gate/0001_repo_freeze`); they sort within an owner and never change.
 * Migrations are additive: a later version adds, it never rewrites history.
 */
export interface Migration {
  readonly name: string;
  up(knex: Knex, ctx: { dialect: Dialect }): Promise<void>;
}

/** Table that records which migrations ran (shared by core and plugins). */
export const MIGRATIONS_TABLE = 'conveyor_migrations';

/**
 * Runs every migration not yet recorded, core first then plugins in registration
 * order. Knex's lock table keeps two hosts from migrating at once. A disabled
 * plugin's migrations are simply absent from the list; its tables stay.
 */
export async function runMigrations(knex: Knex, dialect: Dialect, migrations: readonly Migration[]): Promise<string[]> {
  const seen = new Set<string>();
  for (const m of migrations) {
    if (seen.has(m.name)) throw new ConveyorError('CONVEYOR_MIGRATION', `migration "${m.name}" is declared twice`);
    seen.add(m.name);
  }
  const source: Knex.MigrationSource<Migration> = {
    getMigrations: async () => [...migrations],
    getMigrationName: (m) => m.name,
    getMigration: async (m) => ({
      up: (k: Knex) => m.up(k, { dialect }),
      down: async () => {
        throw new ConveyorError('CONVEYOR_MIGRATION', `migration "${m.name}" is additive and has no down step`);
      },
    }),
  };
  try {
    const [, ran] = (await knex.migrate.latest({
      migrationSource: source,
      tableName: MIGRATIONS_TABLE,
      disableMigrationsListValidation: true,
    })) as [number, string[]];
    return ran;
  } catch (err) {
    throw new ConveyorError('CONVEYOR_MIGRATION', `database migration failed: ${(err as Error).message}`, { cause: err });
  }
}
