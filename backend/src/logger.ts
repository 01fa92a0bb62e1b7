import winston from 'winston';

/** JSON lines on stdout. Callers never pass tokens or keys; `redact` strips them if one slips in. */
const SECRET_KEYS = new Set(['token', 'apiKey', 'authorization', 'api_key', 'password']);

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) if (SECRET_KEYS.has(key)) info[key] = '[redacted]';
  return info;
});

export const logger = winston.createLogger({
  level: process.env.LOG_LEVEL || 'info',
  format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.json()),
  transports: [new winston.transports.Console()],
});

export function setLogLevel(level: string): void {
  logger.level = level;
}
