import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from './config';
import { logger, setLogLevel } from './logger';
import { startRelay } from './relay';

async function main(): Promise<void> {
  const config = loadConfig();
  setLogLevel(config.LOG_LEVEL);
  let apiKey = config.API_KEY;
  if (!apiKey) {
    apiKey = randomBytes(24).toString('base64url');
    // Printed once, on stderr and outside the JSON log, so it never lands in log storage.
    process.stderr.write(`No API_KEY set; generated one for this run: ${apiKey}\n`);
  }
  const relay = await startRelay({ config, apiKey });
  // PM2 (wait_ready) starts the next worker, or routes traffic here, only after this: migrations
  // ran and the server listens.
  process.send?.('ready');

  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal });
    const deadline = setTimeout(() => {
      logger.error('shutdown timed out', {
        timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
        unwritten: relay.unwritten(),
      });
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    relay.stop().then(
      (unwritten) => {
        if (unwritten.statsEndpoints || unwritten.deviceReadings) {
          logger.error('stopped with data not written: database unavailable', {
            timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
            unwritten,
          });
          process.exit(1);
        }
        logger.info('stopped');
        process.exit(0);
      },
      (err: Error) => {
        logger.error('shutdown failed', { error: err.message });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

process.on('unhandledRejection', (reason) => {
  logger.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) });
});

main().catch((err) => {
  const message =
    err instanceof ConfigError ? err.message : `relay failed to start: ${(err as Error).message}`;
  logger.error(message);
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
