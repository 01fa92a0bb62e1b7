import { loadConfig } from '../config';
import { maskUrl } from './database-url';
import { migrate } from './migrator';

/** `pnpm db:migrate`: applies pending migrations to DATABASE_URL and exits. */
async function main() {
  const config = loadConfig();
  const applied = await migrate(config.DATABASE_URL);
  console.log(
    applied.length
      ? `Applied ${applied.length} migration(s) to ${maskUrl(config.DATABASE_URL)}: ${applied.join(', ')}`
      : `${maskUrl(config.DATABASE_URL)} is up to date`,
  );
}

main().catch((err) => {
  console.error(`db:migrate failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
