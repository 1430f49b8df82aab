// Entry point bundled for the Worker: every workflow type opsflow registers.
export { taskWorkflow } from './taskWorkflow';
