// Placeholder until the task workflow lands (issue: task engine).
export async function taskWorkflow(input: { taskId: number }): Promise<string> {
  return Promise.resolve(`task ${input.taskId}`);
}
