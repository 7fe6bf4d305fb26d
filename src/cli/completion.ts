import type { CommandSpec } from './args.js';
import { UsageError } from './args.js';

/** Words a shell may complete for each command: its options' long and short flags. */
function flagsOf(command: CommandSpec): string[] {
  return command.options
    .filter((option) => option.describe !== undefined)
    .flatMap((option) => [
      option.name.length === 1 ? `-${option.name}` : `--${option.name}`,
      ...(option.alias === undefined ? [] : [`-${option.alias}`]),
      ...(option.longAliases ?? []).map((name) => `--${name}`),
    ])
    .concat('--help');
}

/**
 * `tsublk completion bash|zsh`: a completion script drawn from the command table (commands,
 * then each command's flags; after -t, the built-in targets and files). zsh runs the bash one
 * through bashcompinit.
 */
export function completionScript(shell: string, commands: readonly CommandSpec[], targets: readonly string[]): string {
  if (shell !== 'bash' && shell !== 'zsh')
    throw new UsageError(`no completion for '${shell}': use tsublk completion bash or tsublk completion zsh`);
  const visible = commands.filter((command) => command.describe !== false);
  const cases = visible.map((command) => `    ${command.name}) words="${flagsOf(command).join(' ')}" ;;`);
  const bash = [
    `# tsublk completion for ${shell}: source <(tsublk completion ${shell}), or save it where your shell loads completions.`,
    '_tsublk() {',
    '  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} words',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    COMPREPLY=($(compgen -W "${visible.map((command) => command.name).join(' ')} help" -- "$cur"))`,
    '    return',
    '  fi',
    '  case "$prev" in',
    `    -t|--type) COMPREPLY=($(compgen -W "${targets.join(' ')}" -- "$cur") $(compgen -f -- "$cur")); return ;;`,
    '    -f|--file|--backing|--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;',
    '  esac',
    '  case "${COMP_WORDS[1]}" in',
    ...cases,
    '    *) words="" ;;',
    '  esac',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    'complete -o default -F _tsublk tsublk',
  ];
  const zsh = ['autoload -U +X bashcompinit && bashcompinit'];
  return [...(shell === 'zsh' ? zsh : []), ...bash, ''].join('\n');
}
