import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConveyorError } from '../errors.js';

/** Default file names, looked up in this order. */
export const CONFIG_FILE_NAMES = ['conveyor.config.yaml', 'conveyor.config.yml', 'conveyor.config.json'];

/** Reads a YAML or JSON config file into a plain object (not yet validated). */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConveyorError('CONVEYOR_CONFIG_FILE', `cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return path.extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConveyorError('CONVEYOR_CONFIG_FILE', `config file ${file} is not valid ${path.extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { cause: err });
  }
}

/** The first default config file present in `dir`, or null. */
export function findConfigFile(dir: string): string | null {
  for (const name of CONFIG_FILE_NAMES) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return null;
}
