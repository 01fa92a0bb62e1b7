/** The shape of a `pnpm test:performance` command (after Artillery's lib/cmds: one module per command). */
import type { Parsed } from '../options';

export interface Command<O> {
  /** the word after `pnpm test:performance`; '' for the default command (run) */
  name: string;
  /** usage line(s) after `pnpm test:performance` */
  usage: string;
  /** the command's section of --help */
  help: string;
  /** Parses the arguments after the command word; throws with a message naming the bad flag. */
  parse(args: string[]): Parsed<O>;
  /** Runs the command; resolves to the process exit code. `argv` is the full command line, for the record. */
  execute(options: O, argv: string[]): Promise<number>;
}
