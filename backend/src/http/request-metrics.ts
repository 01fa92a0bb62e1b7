import type { Request, RequestHandler } from 'express';
import type { RelayMetrics } from '../monitoring/metrics';

const ROUTER_BASE = Symbol('routerBase');
type Tagged = Request & { [ROUTER_BASE]?: string };

/**
 * First middleware of every mounted router: remembers where it is mounted. Express puts
 * `req.baseUrl` back to the parent's when an error leaves the router, so by the time the error
 * handler answers, `req.baseUrl` alone would turn `/api/endpoints/:id` into `/endpoints/:id`.
 */
export const rememberRouterBase: RequestHandler = (req, _res, next) => {
  (req as Tagged)[ROUTER_BASE] = req.baseUrl;
  next();
};

/**
 * The label for a request: the pattern of the route that handled it (`/api/endpoints/:id/stats`)
 * or `unmatched` when none did (unknown paths, and requests refused before routing, such as a
 * missing API key). Never the raw URL, whose values are unbounded.
 */
export function routeLabel(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  if (!route || typeof route.path !== 'string') return 'unmatched';
  const base = (req as Tagged)[ROUTER_BASE] ?? '';
  const path = base && route.path === '/' ? '' : route.path;
  return base + path || '/';
}

/** Times every request from arrival to the last byte handed to the socket, by method and route. */
export function requestMetrics(metrics: RelayMetrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpObserve(req.method, routeLabel(req), res.statusCode, seconds);
    });
    next();
  };
}
