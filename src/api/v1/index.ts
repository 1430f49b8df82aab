// The native API's routes, one list per resource.
import type { AnyRoute } from '../routing';
import { execUserRoutes } from './execUsers';
import { peopleRoutes } from './people';
import { taskRoutes } from './tasks';
import { templateRoutes } from './templates';

export const v1Routes: AnyRoute[] = [...taskRoutes, ...templateRoutes, ...execUserRoutes, ...peopleRoutes];
