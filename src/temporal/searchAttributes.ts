// Namespace and search attributes, registered idempotently at start (dev server or cluster).
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';

const { IndexedValueType } = temporal.api.enums.v1;

export const SEARCH_ATTRIBUTES = {
  TaskId: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  TemplateId: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Submitter: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  TaskStatus: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
} as const;

/** `KEY=Type` pairs for `temporal server start-dev --search-attribute`. */
export const DEV_SERVER_SEARCH_ATTRIBUTE_FLAGS = ['TaskId=Int', 'TemplateId=Int', 'Submitter=Keyword', 'TaskStatus=Keyword'];

function grpcCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? Number((err).code) : undefined;
}
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

export async function ensureNamespace(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return;
  } catch (err) {
    if (grpcCode(err) !== NOT_FOUND) throw err;
  }
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('7 days'),
    });
  } catch (err) {
    if (grpcCode(err) !== ALREADY_EXISTS) throw err;
  }
  // A new namespace takes a moment to become usable on a cluster.
  for (let i = 0; i < 50; i++) {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * The operator service learns of a new namespace only when its namespace cache refreshes
 * (up to ~10 s after registerNamespace, although describeNamespace already answers), and
 * says NOT_FOUND until then: retry that for a while.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string, waitMs = 30_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await addMissingSearchAttributes(connection, namespace);
    } catch (err) {
      if (grpcCode(err) !== NOT_FOUND || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function addMissingSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.fromEntries(Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !have.has(name)));
  if (Object.keys(missing).length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (err) {
    if (grpcCode(err) !== ALREADY_EXISTS) throw err;
  }
}
