// CODO's template management (/api/task/v2/task_layout/…): command/, args/, temp/, details/, user/.
import type { AnyRoute } from '../routing';
import { codoCommandRoutes } from './layoutCommands';
import { codoTemplateRoutes } from './layoutTemplates';
import { codoUserRoutes } from './layoutUsers';

export const codoLayoutRoutes: AnyRoute[] = [...codoCommandRoutes, ...codoTemplateRoutes, ...codoUserRoutes];
