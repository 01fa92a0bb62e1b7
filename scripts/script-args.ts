/**
 * Command-line parsing for the scripts in this folder: node:util's parseArgs plus what a user
 * of a tool expects. `--help` / `-h` prints the script's own header comment (its usage) and
 * exits 0; an unknown option, a missing value or a value the script's `settings` refuses prints
 * one line naming the problem and exits 2, instead of a stack trace or a run on NaN.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { num } from '../runner/options';

export type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/** What a script does with its command line: go on with settings, or print and exit. */
export type ArgsOutcome<R> = { settings: R } | { exitCode: 0 | 2; text: string };

/**
 * The header comment of a script file (its first `/** ... *\/` block, `*` margins removed),
 * or a one-line pointer to the file when it has none.
 */
export function usageOf(file: string): string {
  const m = /^\s*\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, 'utf8'));
  if (!m) return `usage: see ${file}`;
  return m[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/**
 * Parses `argv` with `config` and turns the values into settings with `settings`, which throws
 * an Error whose message names the flag for a value it refuses (runner/options.ts `num`,
 * `oneOf`). Never throws: every outcome is returned, for `scriptArgs` to act on.
 *
 * @param file the script's own path (`__filename`): the source of `--help`'s text
 */
export function parseScriptArgs<T extends ParseArgsConfig, R>(
  file: string,
  config: T,
  settings: (parsed: Parsed<T>) => R,
  argv: string[] = process.argv.slice(2),
): ArgsOutcome<R> {
  // Before parsing, so `--help` works beside an option that would be refused.
  if (argv.includes('--help') || argv.includes('-h')) return { exitCode: 0, text: usageOf(file) };
  try {
    return { settings: settings(parseArgs({ ...config, args: argv }) as Parsed<T>) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { exitCode: 2, text: `${message}\n(--help for usage)` };
  }
}

/**
 * parseScriptArgs on this process's command line: returns the settings, or prints the help
 * (stdout, exit 0) or the refusal (stderr, exit 2) and ends the process.
 */
export function scriptArgs<T extends ParseArgsConfig, R>(
  file: string,
  config: T,
  settings: (parsed: Parsed<T>) => R,
): R {
  const outcome = parseScriptArgs(file, config, settings);
  if ('settings' in outcome) return outcome.settings;
  if (outcome.exitCode === 0) console.log(outcome.text);
  else console.error(outcome.text);
  process.exit(outcome.exitCode);
}

/**
 * A command line for another script, every option as one `--name=value` element. Why: a value
 * given as its own element after the flag is refused by parseArgs when it begins with `-` (a
 * base64url API key does, one time in 64), so a caller that builds `['--api-key', key]` fails at
 * random. Values are passed as they are (String of a number); order follows the object's.
 */
export function optionArgs(options: Record<string, string | number>): string[] {
  return Object.entries(options).map(([name, value]) => `--${name}=${value}`);
}

/** For `num`: a number > 0. */
export const positive = (n: number): boolean => n > 0;

/** For `num`: an integer >= `min`. */
export const integerAtLeast =
  (min: number) =>
  (n: number): boolean =>
    Number.isInteger(n) && n >= min;

/** One positional number of a script's command line: `[name=fallback]` in its usage. */
export interface PositionalNumber {
  name: string;
  fallback: number;
  /** Integer at least this (default 1), unless `real` */
  min?: number;
  /** Any finite number > 0 instead of an integer */
  real?: boolean;
}

/**
 * The script's positional numbers in order, a missing one as its fallback. Throws "<name>
 * expects ..., got ..." for a value that is not a number of its kind, and for more values than
 * `specs` names. For `scriptArgs`' settings callback.
 */
export function positionalNumbers(raw: string[], specs: PositionalNumber[]): number[] {
  if (raw.length > specs.length)
    throw new Error(
      `expects at most ${specs.length} arguments (${specs.map((s) => s.name).join(', ')}), got ${raw.length}`,
    );
  return specs.map(({ name, fallback, min = 1, real }, i) =>
    i < raw.length
      ? num(
          name,
          raw[i],
          real ? positive : integerAtLeast(min),
          real ? 'a positive number' : `an integer >= ${min}`,
        )!
      : fallback,
  );
}
