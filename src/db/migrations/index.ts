// The ordered list of migrations. Each file is frozen once released; add new numbers only.
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
};
