import type { RequestHandler } from 'express';
import { HttpError } from '../util/http-error';
import { bearerToken, secretMatches } from '../util/token';

export function requireApiKey(apiKey: string): RequestHandler {
  return (req, _res, next) => {
    const key = bearerToken(req.headers.authorization);
    if (key === undefined) {
      return next(new HttpError(401, 'missing Authorization: Bearer <API_KEY> header'));
    }
    if (!secretMatches(key, apiKey)) return next(new HttpError(401, 'invalid API key'));
    next();
  };
}
