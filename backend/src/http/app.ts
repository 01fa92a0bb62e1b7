import express, { type Request } from 'express';
import type { DbHandle } from '../db/client';
import type { RelayMetrics } from '../monitoring/metrics';
import type { AlertService } from '../services/alert.service';
import type { DeviceDataService } from '../services/device-data.service';
import type { EndpointService } from '../services/endpoint.service';
import type { StatsStore } from '../services/stats/stats-store';
import { notFound } from '../util/http-error';
import { requireApiKey } from './auth';
import { errorHandler, notFoundRoute } from './errors';
import { databaseCheck, healthProbes, type Readiness } from './health';
import { rememberRouterBase, requestMetrics } from './request-metrics';
import {
  alertsQuery,
  createEndpointBody,
  createRuleBody,
  deviceDataQuery,
  deviceParams,
  noQuery,
  ruleParams,
} from './schemas';

export interface AppDeps {
  db: DbHandle;
  apiKey: string;
  metrics: RelayMetrics;
  metricsPublic: boolean;
  /** What /readyz reports: the relay's checks and whether it is draining. */
  readiness: Readiness;
  publicWsUrl?: string;
  endpoints: EndpointService;
  stats: StatsStore;
  deviceData: DeviceDataService;
  alerts: AlertService;
  /** Closes the sockets of an endpoint that is being deleted. */
  onEndpointDeleted: (id: string) => void;
}

const DB_PING_TIMEOUT_MS = 2000;

export function createApp(deps: AppDeps): express.Express {
  const { endpoints, stats, deviceData, alerts } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.use(requestMetrics(deps.metrics));
  app.use(healthProbes(deps.readiness));
  app.use(express.json({ limit: '64kb' }));

  const wsUrl = (req: Request, id: string) =>
    `${deps.publicWsUrl?.replace(/\/$/, '') ?? `ws://${req.headers.host ?? 'localhost'}`}/ws/${id}`;

  const dbPing = databaseCheck(deps.db);
  app.get('/health', async (_req, res) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        // The readiness probe's query: SELECT 1 alone never touches a locked SQLite file.
        dbPing.check(),
        new Promise(
          (_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), DB_PING_TIMEOUT_MS)),
        ),
      ]);
      // The database answers, but readings are not reaching it (refused, or writes failing).
      const backlog = deviceData.writer.backlog();
      if (backlog.stalled) {
        res.status(503).json({
          status: 'degraded',
          db: 'up',
          provider: deps.db.provider,
          statsMode: stats.mode,
          reason: 'device data backlog',
          deviceDataBacklog: { rows: backlog.rows, oldestSeconds: backlog.oldestMs / 1000 },
        });
        return;
      }
      res.json({ status: 'ok', db: 'up', provider: deps.db.provider, statsMode: stats.mode });
    } catch {
      res
        .status(503)
        .json({ status: 'degraded', db: 'down', provider: deps.db.provider, statsMode: stats.mode });
    } finally {
      clearTimeout(timer);
    }
  });

  const apiKeyCheck = requireApiKey(deps.apiKey);
  const metricsRoute = express.Router();
  metricsRoute.use(rememberRouterBase);
  if (!deps.metricsPublic) metricsRoute.use(apiKeyCheck);
  metricsRoute.get('/', async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.render());
  });
  app.use('/metrics', metricsRoute);

  const api = express.Router();
  api.use(rememberRouterBase);
  api.use(apiKeyCheck);
  // Routes that take no query parameters refuse any (a misspelt one would otherwise be ignored).
  const takesQuery = /\/(alerts|data)$/;
  api.use((req, _res, next) => {
    if (!takesQuery.test(req.path)) noQuery.parse(req.query);
    next();
  });

  /** Loads the endpoint named in the path or answers 404. */
  const endpointOf = async (req: Request) => {
    const endpoint = await endpoints.find(String(req.params.id));
    if (!endpoint) throw notFound('endpoint');
    return endpoint;
  };

  api.post('/endpoints', async (req, res) => {
    const { name } = createEndpointBody.parse(req.body ?? {});
    const created = await endpoints.create(name);
    res.status(201).json({ ...created, wsUrl: wsUrl(req, created.id) });
  });

  api.get('/endpoints', async (req, res) => {
    const list = await endpoints.list();
    res.json(list.map((e) => ({ ...e, wsUrl: wsUrl(req, e.id) })));
  });

  api.get('/endpoints/:id', async (req, res) => {
    const endpoint = await endpointOf(req);
    res.json({ ...endpoint, wsUrl: wsUrl(req, endpoint.id) });
  });

  api.delete('/endpoints/:id', async (req, res) => {
    const id = String(req.params.id);
    if (!(await endpoints.find(id))) throw notFound('endpoint');
    deps.onEndpointDeleted(id);
    await endpoints.remove(id);
    res.status(204).end();
  });

  api.get('/endpoints/:id/stats', async (req, res) => {
    const endpoint = await endpointOf(req);
    const view = await stats.get(endpoint.id);
    res.json(view ?? { currentConnections: 0, totalConnections: 0, totalMessages: 0, lastMessageAt: null });
  });

  api.get('/endpoints/:id/devices/:deviceId/data', async (req, res) => {
    const endpoint = await endpointOf(req);
    const { deviceId } = deviceParams.parse(req.params);
    const query = deviceDataQuery.parse(req.query);
    res.json(await deviceData.query(endpoint.id, deviceId, query));
  });

  // Exact counts, so a load test can check that every reading it sent was stored and every
  // alert it provoked fired without paging through rows.
  api.get('/endpoints/:id/devices/:deviceId/stats', async (req, res) => {
    const endpoint = await endpointOf(req);
    const { deviceId } = deviceParams.parse(req.params);
    const [readings, alertsFired] = await Promise.all([
      deviceData.count(endpoint.id, deviceId),
      alerts.countAlerts(endpoint.id, deviceId),
    ]);
    res.json({ deviceId, readings, alerts: alertsFired });
  });

  api.post('/endpoints/:id/alert-rules', async (req, res) => {
    const endpoint = await endpointOf(req);
    const input = createRuleBody.parse(req.body ?? {});
    res.status(201).json(await alerts.createRule(endpoint.id, input));
  });

  api.get('/endpoints/:id/alert-rules', async (req, res) => {
    const endpoint = await endpointOf(req);
    res.json(await alerts.listRules(endpoint.id));
  });

  api.delete('/endpoints/:id/alert-rules/:ruleId', async (req, res) => {
    const endpoint = await endpointOf(req);
    const { ruleId } = ruleParams.parse(req.params);
    if (!(await alerts.deleteRule(endpoint.id, ruleId))) throw notFound('alert rule');
    res.status(204).end();
  });

  api.get('/endpoints/:id/alerts', async (req, res) => {
    const endpoint = await endpointOf(req);
    const { limit } = alertsQuery.parse(req.query);
    res.json(await alerts.listAlerts(endpoint.id, limit));
  });

  app.use('/api', api);
  app.use(notFoundRoute);
  app.use(errorHandler);
  return app;
}
