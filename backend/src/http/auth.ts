import type { RequestHandler } from 'express';
import { HttpError } from '../util/http-error';
import { secretMatches } from '../util/token';

export function requireApiKey(apiKey: string): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers.authorization;
    if (!header?.startsWith('Bearer ')) {
      return next(new HttpError(401, 'missing Authorization: Bearer <API_KEY> header'));
    }
    if (!secretMatches(header.slice(7), apiKey)) return next(new HttpError(401, 'invalid API key'));
    next();
  };
}
