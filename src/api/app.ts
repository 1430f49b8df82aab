// createApp(deps) builds the Express app; listening is the caller's business.
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Connection } from '@temporalio/client';
import type { Db } from '../db/database';
import { errorHandler, HttpError } from './errors';
import { healthRouter } from './health';

export interface AppDeps {
  db: Db;
  temporal: Connection;
  log: (line: string) => void;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(helmet());
  app.use(healthRouter({ db: deps.db, temporal: deps.temporal }));
  app.use((req, _res, next) => {
    next(new HttpError(404, 404, `no route ${req.method} ${req.path}`));
  });
  app.use(errorHandler(deps.log));
  return app;
}
