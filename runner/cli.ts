/** Entry point of `pnpm test:performance`. Exit code: 0 only when every gate of every scenario passed; 2 for a usage error. */
import { commandFor, HELP } from './commands';

async function main(argv: string[]): Promise<number> {
  const { command, args } = commandFor(argv);
  let options;
  try {
    options = command.parse(args);
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (options === 'help') {
    console.log(HELP);
    return 0;
  }
  return command.execute(options, argv);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`error: ${err.message}`);
    process.exit(2);
  },
);
