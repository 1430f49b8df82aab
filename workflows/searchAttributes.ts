// Typed search attribute keys, shared by the task service (at start) and the workflow (upserts).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTE_KEYS = {
  TaskId: defineSearchAttributeKey('TaskId', SearchAttributeType.INT),
  TemplateId: defineSearchAttributeKey('TemplateId', SearchAttributeType.INT),
  Submitter: defineSearchAttributeKey('Submitter', SearchAttributeType.KEYWORD),
  TaskStatus: defineSearchAttributeKey('TaskStatus', SearchAttributeType.KEYWORD),
};
