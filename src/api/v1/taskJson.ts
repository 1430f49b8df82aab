// How the native API shows a task and its step runs.
import type { Task } from '../../db/schema';
import type { StepView } from '../../tasks/queries';

/** The native representation of a task (without steps). */
export function taskJson(task: Task): Record<string, unknown> {
  return {
    id: task.id,
    task_name: task.task_name,
    task_type: task.task_type,
    template_id: task.template_id,
    status: task.status,
    schedule: task.schedule,
    creator: task.creator,
    submitter: task.submitter,
    approver: task.approver,
    executor: task.executor,
    associated_user: task.associated_user,
    args: task.args,
    hosts: task.hosts,
    details: task.details,
    exec_time: task.exec_time,
    planned_start: task.planned_start,
    start_time: task.start_time,
    created_at: task.created_at,
    finished_at: task.finished_at,
    max_parallel: task.max_parallel,
    workflow_id: task.workflow_id,
  };
}

export function stepJson(s: StepView): Record<string, unknown> {
  return {
    id: s.id,
    step_id: s.step_id,
    group: s.group,
    host: s.host,
    level: s.level,
    name: s.name,
    trigger: s.trigger,
    exec_user: s.exec_user,
    status: s.status,
    exit_code: s.exit_code,
    attempt: s.attempt,
    error: s.error,
    started_at: s.started_at,
    finished_at: s.finished_at,
  };
}

