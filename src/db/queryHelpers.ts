// Small helpers for queries: PostgreSQL error codes the core turns into refusals, and LIKE patterns.

/** Unique violation (a duplicate name, or a concurrent insert of the same key). */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

/** Foreign-key violation (a row still referenced, e.g. a template that tasks use). */
export function isForeignKeyViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23503';
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}

/** SQL LIKE pattern for a prefix match (CODO's `value%` search). */
export function prefixPattern(search: string): string {
  return `${escapeLike(search)}%`;
}

/** SQL LIKE pattern for a substring match. */
export function containsPattern(search: string): string {
  return `%${escapeLike(search)}%`;
}

/** A page of a list: rows to skip and how many to return. */
export interface PageWindow {
  offset: number;
  limit: number;
}
