// createApp(deps) builds the Express app; listening is the caller's business.
import express, { type Express } from 'express';
import helmet from 'helmet';
import { consoleRouter } from './console';
import { DOCS_HTML, DOCS_JS } from './docsPage';
import type { ApiDeps } from './deps';
import { errorHandler, HttpError } from './errors';
import { healthRouter } from './health';
import { buildOpenApi } from './openapi';
import { LoginLimiter } from './rateLimit';
import { ALL_ROUTES } from './routes';
import { mountRoutes } from './routing';

export type { ApiDeps } from './deps';
/** @deprecated name kept for callers of the foundation's createApp. */
export type AppDeps = ApiDeps;

/** Request bodies above this answer 413 JSON. */
export const BODY_LIMIT = '1mb';

export function createApp(input: ApiDeps): Express {
  const deps: ApiDeps = { ...input, loginLimiter: input.loginLimiter ?? new LoginLimiter() };
  const app = express();
  app.disable('x-powered-by');
  // Whose X-Forwarded-For names the client (audit IP, login rate limit): OPSFLOW_TRUSTED_PROXIES.
  app.set('trust proxy', deps.config.OPSFLOW_TRUSTED_PROXIES);
  app.set('query parser', 'simple');
  // helmet's default CSP (script-src 'self') suits the console and docs pages; only its
  // upgrade-insecure-requests is dropped: over plain HTTP (HOST=0.0.0.0 on a LAN address) it makes
  // browsers fetch /app.js and /style.css over https and the pages break. TLS proxies may add it.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  // CORS stays closed: no Access-Control-* headers are ever sent, so browsers refuse
  // cross-origin reads; preflights get a plain 404.
  app.use(healthRouter({ db: deps.db, temporal: deps.temporal }));

  // CODO clients send JSON with or without a Content-Type (python-requests `data=json.dumps(…)`).
  app.use('/api', express.json({ limit: BODY_LIMIT, type: () => true, strict: true }));

  const openapi = buildOpenApi(ALL_ROUTES, { version: '1' });
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.get(['/api/docs', '/api/docs/'], (_req, res) => {
    res.type('html').send(DOCS_HTML);
  });
  app.get('/api/docs/docs.js', (_req, res) => {
    res.type('application/javascript').send(DOCS_JS);
  });

  const router = express.Router();
  mountRoutes(router, deps, ALL_ROUTES);
  app.use(router);
  app.use(consoleRouter()); // the operator console (web/) at /

  app.use((req, _res, next) => {
    next(new HttpError(404, 404, `no route ${req.method} ${req.path}`));
  });
  app.use(errorHandler(deps.log));
  return app;
}
