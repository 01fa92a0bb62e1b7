/**
 * The command table of `pnpm test:performance`: the first argument names the command, anything
 * else is the default command (run) with its flags. The one place a command line is dispatched.
 */
import type { Parsed } from '../options';
import { capacity } from './capacity';
import type { Command } from './command';
import { explain } from './explain';
import { flushBenchCommand } from './flush-bench';
import { render } from './render';
import { run } from './run';

/** Usage and help follow this order; run, the default, has no name. */
export const COMMANDS: readonly Command<unknown>[] = [run, capacity, render, explain, flushBenchCommand];

/** The help text of every command, from the table. */
export const HELP =
  [
    COMMANDS.map(
      (c, i) =>
        `${i === 0 ? 'Usage: ' : '       '}pnpm test:performance ${c.name ? `${c.name} ` : ''}${c.usage}`,
    ).join('\n'),
    ...COMMANDS.map((c) => c.help),
  ].join('\n\n') + '\n';

/** The command the command line names, and the arguments it parses. */
export function commandFor(argv: string[]): { command: Command<unknown>; args: string[] } {
  const named = COMMANDS.find((c) => c.name !== '' && c.name === argv[0]);
  return named ? { command: named, args: argv.slice(1) } : { command: run, args: argv };
}

/** A command line's parsed options (shape per command, see options.ts); throws on a bad flag. */
export function parseCli(argv: string[]): Parsed<unknown> {
  const { command, args } = commandFor(argv);
  return command.parse(args);
}
