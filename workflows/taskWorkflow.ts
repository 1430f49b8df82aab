// The task workflow (docs/engine.md#task-lifecycle): a thin shell around TaskRun, the task's state
// machine. It builds the state, lets every Update and the progress Query reach it, runs the
// main loop, and finishes only after the last handler has.
import { allHandlersFinished, condition, setHandler } from '@temporalio/workflow';
import type { TaskStatus } from '../src/domain/statuses';
import {
  abortHostUpdate,
  approveUpdate,
  cancelUpdate,
  pauseUpdate,
  progressQuery,
  rejectUpdate,
  releaseStepUpdate,
  rescheduleUpdate,
  restartFromStepUpdate,
  resumeUpdate,
  retryStepUpdate,
  shardControlSignal,
  shardRouteQuery,
  skipStepUpdate,
  type AbortHostArgs,
  type ActorArgs,
  type ApproveArgs,
  type ReleaseArgs,
  type RescheduleArgs,
  type StepArgs,
  type TaskWorkflowInput,
} from './messages';
import { TaskRun } from './taskRun';

export async function taskWorkflow(input: TaskWorkflowInput): Promise<TaskStatus> {
  const task = new TaskRun(input);

  // Interventions: the validator answers the caller at once (accepted or why not); the handler
  // changes state. (Validators get their argument types spelled out: the SDK types them `any`.)
  setHandler(approveUpdate, (args) => task.approve(args), { validator: (args: ApproveArgs) => task.validateApprove(args) });
  setHandler(rejectUpdate, (args) => task.reject(args), { validator: (args: ActorArgs) => task.validateReject(args) });
  setHandler(rescheduleUpdate, (args) => task.reschedule(args), { validator: (args: RescheduleArgs) => task.validateReschedule(args) });
  setHandler(pauseUpdate, (args) => task.pause(args), { validator: (args: ActorArgs) => task.validatePause(args) });
  setHandler(resumeUpdate, (args) => task.resume(args), { validator: (args: ActorArgs) => task.validateResume(args) });
  setHandler(cancelUpdate, (args) => task.cancel(args), { validator: (args: ActorArgs) => task.validateCancel(args) });
  setHandler(retryStepUpdate, (args) => task.retry(args), { validator: (args: StepArgs) => task.validateHeld(args) });
  setHandler(skipStepUpdate, (args) => task.skip(args), { validator: (args: StepArgs) => task.validateHeld(args) });
  setHandler(restartFromStepUpdate, (args) => task.restart(args), { validator: (args: StepArgs) => task.validateRestart(args) });
  setHandler(abortHostUpdate, (args) => task.abortHost(args), { validator: (args: AbortHostArgs) => task.validateAbortHost(args) });
  setHandler(releaseStepUpdate, (args) => task.release(args), { validator: (args: ReleaseArgs) => task.validateRelease(args) });
  setHandler(progressQuery, () => task.progress());
  // Sharded tasks: the core asks the parent which shard owns a host; the parent passes task-wide
  // interventions on to its shards (workflows cannot send each other Updates).
  setHandler(shardRouteQuery, (args) => task.shardRoute(args));
  setHandler(shardControlSignal, (control) => task.control(control));

  await task.run();
  await condition(allHandlersFinished);
  return task.status;
}
