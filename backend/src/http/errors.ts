import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { logger } from '../logger';
import { HttpError } from '../util/http-error';

export const notFoundRoute: RequestHandler = (req, _res, next) =>
  next(new HttpError(404, `no route for ${req.method} ${req.path}`));

/** The one place errors become responses: client mistakes are 4xx with a reason, never a 500. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (err instanceof ZodError) {
    const issue = err.issues[0];
    if (issue.code === 'unrecognized_keys') {
      return res.status(400).json({ error: `${issue.keys.join(', ')}: unknown parameter` });
    }
    const where = issue.path.length ? issue.path.join('.') : 'body';
    return res.status(400).json({ error: `${where}: ${issue.message}` });
  }
  if (err instanceof HttpError) return res.status(err.status).json({ error: err.message });
  // The router decodes path parameters before any handler runs; it marks a broken
  // percent-escape 400 but not `expose`, and its message quotes the raw segment.
  if (err instanceof URIError) {
    const raw = /'(.*)'/.exec(err.message)?.[1];
    return res
      .status(400)
      .json({ error: `path: malformed percent-escape${raw === undefined ? '' : ` in '${raw}'`}` });
  }
  // body-parser errors carry their own status (400 malformed JSON, 413 too large, 415 charset).
  if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500 && err.expose) {
    const message = err.type === 'entity.parse.failed' ? 'body: malformed JSON' : err.message;
    return res.status(err.status).json({ error: message });
  }
  logger.error('request failed', { method: req.method, path: req.path, error: err?.message ?? String(err) });
  const dbDown = /connect|pool|timeout|ECONNREFUSED/i.test(err?.message ?? '');
  res.status(dbDown ? 503 : 500).json({ error: dbDown ? 'database unavailable' : 'internal error' });
};
