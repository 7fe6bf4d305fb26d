import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';

/**
 * `add --config FILE`: a JSON object of add's options by name, as on the command line
 * ({"type": "memory", "size": "1G", "backing": "/var/lib/disk.img", "r": 1}), which a systemd unit
 * names per device (/etc/tsublk/<name>.json). Its options take the place of `--config FILE` among
 * the words, so an option given after it on the command line still wins (the last one counts).
 */
export function expandAddConfig(words: readonly string[]): string[] {
  if (words[0] !== 'add') return [...words];
  let expanded = [...words];
  for (;;) {
    const at = expanded.findIndex((word) => word === '--config' || word.startsWith('--config='));
    if (at < 0) return expanded;
    const word = expanded[at] ?? '';
    const file = word === '--config' ? expanded[at + 1] : word.slice('--config='.length);
    if (file === undefined || file === '')
      throw new UsageError('--config needs a file: add --config /etc/tsublk/NAME.json');
    expanded = [...expanded.slice(0, at), ...configWords(file), ...expanded.slice(at + (word === '--config' ? 2 : 1))];
  }
}

/** The config file's options as command-line words. */
function configWords(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read --config ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}): give a readable JSON file`,
    );
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `--config ${file} is not JSON (${(error as Error).message}): write an object of add's options`,
    );
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new UsageError(`--config ${file} must hold one JSON object of add's options, as {"type": "null"}`);
  return Object.entries(config).flatMap(([name, value]) => {
    if (name === 'config') throw new UsageError(`--config ${file} names another config: put its options here instead`);
    const flag = name.length === 1 ? `-${name}` : `--${name}`;
    if (typeof value === 'boolean') return value ? [flag] : [`--no-${name}`];
    if (typeof value === 'number' || typeof value === 'string') return [`${flag}=${value}`];
    throw new UsageError(
      `--config ${file}: "${name}" must be a string, a number or true/false, not ${JSON.stringify(value)}`,
    );
  });
}
