import type { AnyRoute } from '../routing';

export const v1Routes: AnyRoute[] = [];
