// Every API route, in one list: mounted by createApp, documented by /api/v1/openapi.json and
// enumerated by the tests (every route except login answers 401 without credentials).
import { codoAccountRoutes } from './codo/accounts';
import { codoLayoutRoutes } from './codo/layout';
import { codoTaskRoutes } from './codo/tasks';
import type { AnyRoute } from './routing';
import { v1Routes } from './v1/index';

export const ALL_ROUTES: readonly AnyRoute[] = [...codoAccountRoutes, ...codoTaskRoutes, ...codoLayoutRoutes, ...v1Routes];
