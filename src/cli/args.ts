// A small table-driven command-line parser: commands, their options and positionals, and the help
// text drawn from the same table. It replaced yargs in the CLI: loading and running yargs was
// 0.5-0.7 s of every tsublk start in the TCG test VM (bench:start), more than Node's own start.

import { printOut } from './output.js';

/** One option of a command. Values arrive as the type says; absent ones take `default` (or stay undefined). */
export interface OptionSpec {
  readonly name: string;
  /** A one-letter alias (-n for --number). */
  readonly alias?: string;
  /** Other long names (the C ublk utility's: --uring_comp for -u). */
  readonly longAliases?: readonly string[];
  readonly type: 'number' | 'string' | 'boolean';
  readonly default?: number | string | boolean;
  /** One line for the help; omit to hide the option from it. */
  readonly describe?: string;
  /** Set: the option must be given, and this is the one-line error when it is not. */
  readonly demand?: string;
  /** A heading the help groups the option under (the command's own options come first). */
  readonly group?: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly describe: string;
  readonly choices?: readonly string[];
  readonly optional?: boolean;
}

export type ParsedArgs = Readonly<Record<string, number | string | boolean | undefined>>;

export interface CommandSpec {
  readonly name: string;
  /** One line for the command list; false hides the command (what udev rules run). */
  readonly describe: string | false;
  readonly positionals?: readonly PositionalSpec[];
  readonly options: readonly OptionSpec[];
  /** Cross-checks of the parsed values; throws the one-line error. */
  readonly check?: (args: ParsedArgs) => void;
  readonly run: (args: ParsedArgs) => Promise<void>;
}

export interface Program {
  readonly name: string;
  readonly summary: string;
  /** Read only when --version asks for it. */
  readonly version: () => string;
  readonly commands: readonly CommandSpec[];
}

/** A mistake on the command line: its message is the whole one-line answer. */
export class UsageError extends Error {}

const helpOption: OptionSpec = { name: 'help', alias: 'h', type: 'boolean', describe: 'show help' };

function findOption(command: CommandSpec, word: string): OptionSpec | undefined {
  if (word.startsWith('--')) {
    const name = word.slice(2);
    return command.options.find((o) => o.name === name || (o.longAliases ?? []).includes(name));
  }
  return (
    command.options.find((o) => o.alias === word.slice(1)) ??
    command.options.find((o) => o.name === word.slice(1) && o.name.length === 1)
  );
}

function convert(option: OptionSpec, raw: string, command: string): number | string | boolean {
  if (option.type === 'string') return raw;
  if (option.type === 'boolean') {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw new UsageError(
      `bad --${option.name}=${raw}: write --${option.name} or --${option.name}=false (see tsublk ${command} --help)`,
    );
  }
  const value = Number(raw);
  if (raw.trim() === '' || Number.isNaN(value))
    throw new UsageError(`bad --${option.name} '${raw}': a number is needed (see tsublk ${command} --help)`);
  return value;
}

/** Parses the words after the command name. `help` true: --help was asked for (nothing else is checked). */
export function parseCommand(command: CommandSpec, words: readonly string[]): { args: ParsedArgs; help: boolean } {
  const values: Record<string, number | string | boolean | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (word === '--help' || word === '-h') return { args: values, help: true };
    if (word === '--') {
      positionals.push(...words.slice(i + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-' || /^-\d/.test(word)) {
      positionals.push(word);
      continue;
    }
    const equals = word.indexOf('=');
    const flag = equals < 0 ? word : word.slice(0, equals);
    let option = findOption(command, flag);
    let negated = false;
    if (option === undefined && flag.startsWith('--no-')) {
      option = command.options.find((o) => o.name === flag.slice(5) && o.type === 'boolean');
      negated = option !== undefined;
    }
    if (option === undefined) throw new UsageError(`unknown option ${flag}: see tsublk ${command.name} --help`);
    if (negated) values[option.name] = false;
    else if (equals >= 0) values[option.name] = convert(option, word.slice(equals + 1), command.name);
    else if (option.type === 'boolean') values[option.name] = true;
    else {
      const next = words[i + 1];
      if (next === undefined) throw new UsageError(`${flag} needs a value (see tsublk ${command.name} --help)`);
      values[option.name] = convert(option, next, command.name);
      i++;
    }
  }
  const specs = command.positionals ?? [];
  if (positionals.length > specs.length)
    throw new UsageError(`unexpected '${positionals[specs.length]}': see tsublk ${command.name} --help`);
  specs.forEach((spec, at) => {
    const value = positionals[at];
    if (value === undefined) {
      if (spec.optional !== true)
        throw new UsageError(`name the ${spec.name}: tsublk ${command.name} ${usageOf(command)}`);
      return;
    }
    if (spec.choices !== undefined && !spec.choices.includes(value))
      throw new UsageError(`bad ${spec.name} '${value}': use ${spec.choices.join(' or ')}`);
    values[spec.name] = value;
  });
  for (const option of command.options) {
    if (values[option.name] !== undefined) continue;
    if (option.demand !== undefined) throw new UsageError(option.demand);
    if (option.default !== undefined) values[option.name] = option.default;
  }
  command.check?.(values);
  return { args: values, help: false };
}

function usageOf(command: CommandSpec): string {
  return [
    ...(command.positionals ?? []).map((p) => (p.optional === true ? `[${p.name}]` : `<${p.name}>`)),
    '[options]',
  ].join(' ');
}

/** The help's width: the terminal's, or 80 columns when the output is not a terminal. */
function helpWidth(): number {
  return process.stdout.isTTY && process.stdout.columns > 40 ? process.stdout.columns : 80;
}

/** `text` in lines of at most `width` columns, broken between words, after the first each indented by `indent`. */
export function wrap(text: string, width: number, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const room = width - (lines.length === 0 ? 0 : indent);
    if (line !== '' && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.map((text, at) => (at === 0 ? text : `${' '.repeat(indent)}${text}`));
}

function optionLines(options: readonly OptionSpec[]): string[] {
  const flags = options.map((o) => {
    const long = [o.name, ...(o.longAliases ?? [])].filter((name) => name.length > 1).map((name) => `--${name}`);
    const short = o.alias ?? (o.name.length === 1 ? o.name : undefined);
    return [...(short === undefined ? ['  '] : [`-${short}`]), ...long].join(', ').replace(/^ {2}, /, '    ');
  });
  const width = Math.min(Math.max(...flags.map((f) => f.length)), 30);
  const columns = helpWidth();
  return options.flatMap((o, at) => {
    const notes = [
      `[${o.type}]`,
      ...(o.demand !== undefined ? ['[required]'] : []),
      ...(o.default !== undefined && o.type !== 'boolean' ? [`[default: ${String(o.default)}]`] : []),
    ];
    const flag = `  ${flags[at] ?? ''}`;
    // A long flag takes its own line; the text starts at the same column on every line.
    const text = wrap(`${o.describe ?? ''} ${notes.join(' ')}`, columns - width - 4, 0);
    const head = flag.length > width + 2 ? [flag] : [];
    const first = head.length > 0 ? [] : [`${flag.padEnd(width + 2)}  ${text.shift() ?? ''}`];
    return [...head, ...first, ...text.map((line) => `${' '.repeat(width + 4)}${line}`)];
  });
}

/** The help of one command: usage, its options by group. */
export function commandHelp(program: Program, command: CommandSpec): string {
  const shown = [...command.options.filter((o) => o.describe !== undefined), helpOption];
  const groups = new Map<string, OptionSpec[]>();
  for (const option of shown) {
    const group = option.group ?? 'Options:';
    groups.set(group, [...(groups.get(group) ?? []), option]);
  }
  const lines = [
    `${program.name} ${command.name} ${usageOf(command)}`,
    '',
    ...wrap(typeof command.describe === 'string' ? command.describe : '', helpWidth(), 0),
  ];
  if ((command.positionals ?? []).length > 0) lines.push('', 'Positionals:');
  for (const positional of command.positionals ?? [])
    lines.push(
      `  ${positional.name}: ${positional.describe}${positional.choices === undefined ? '' : ` (${positional.choices.join(', ')})`}`,
    );
  for (const [group, options] of groups) lines.push('', ...wrap(group, helpWidth(), 2), ...optionLines(options));
  return lines.join('\n') + '\n';
}

/** The program's help: every visible command, one line each. */
export function programHelp(program: Program): string {
  const visible = program.commands.filter((c) => c.describe !== false);
  const names = visible.map(
    (c) =>
      `${program.name} ${[c.name, ...(c.positionals ?? []).map((p) => (p.optional === true ? `[${p.name}]` : `<${p.name}>`))].join(' ')}`,
  );
  const width = Math.max(...names.map((n) => n.length));
  return (
    [
      `${program.name} <command> [options]`,
      '',
      program.summary,
      '',
      'Commands:',
      ...visible.map((c, at) => `  ${(names[at] ?? '').padEnd(width)}  ${String(c.describe)}`),
      '',
      'Options:',
      '  -v, --version  show the version',
      "  -h, --help     show help (tsublk help <command> or tsublk <command> --help for a command's options)",
    ].join('\n') + '\n'
  );
}

/** The given values of `options`, by name (what `set` hands the daemon). */
export function givenValues(
  args: ParsedArgs,
  options: readonly { readonly name: string }[],
): Record<string, number | string> {
  const values: Record<string, number | string> = {};
  for (const option of options) {
    const value = args[option.name];
    if (value !== undefined) values[option.name] = value as number | string;
  }
  return values;
}

/** Runs the command that `argv` (without node and the script) names. */
export async function runProgram(program: Program, argv: readonly string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError(`name a command (see ${program.name} --help)`);
  if (first === '--help' || first === '-h') {
    printOut(programHelp(program));
    return;
  }
  if (first === '--version' || first === '-v') {
    printOut(`${program.version()}\n`);
    return;
  }
  if (first === 'help') {
    // `tsublk help add`: the command's --help, as git and npm have it.
    const named = rest[0] === undefined ? undefined : program.commands.find((c) => c.name === rest[0]);
    if (rest[0] !== undefined && named === undefined)
      throw new UsageError(`unknown command '${rest[0]}': see ${program.name} --help`);
    printOut(named === undefined ? programHelp(program) : commandHelp(program, named));
    return;
  }
  const command = program.commands.find((c) => c.name === first);
  if (command === undefined) throw new UsageError(`unknown command '${first}': see ${program.name} --help`);
  const { args, help } = parseCommand(command, rest);
  if (help) {
    printOut(commandHelp(program, command));
    return;
  }
  await command.run(args);
}
