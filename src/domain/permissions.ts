// Permissions in one place (docs/api.md#permissions): which role may do what, who sees a task,
// who may approve or intervene on it, who may submit with a template. Pure rules: no database, no HTTP.
// Every API route names one action from ACTIONS; the API's guard and task access checks call
// the functions below and nothing else decides.

export const ROLES = ['admin', 'approver', 'operator', 'submitter', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return (ROLES as readonly unknown[]).includes(value);
}

export const ROLE_DESCRIPTIONS: Readonly<Record<Role, string>> = {
  admin: 'everything: users, secrets (exec users, known hosts), templates, every task, the audit log',
  approver: 'sees every task; approves, rejects and intervenes; reads the audit log',
  operator: 'manages templates and commands; submits tasks and intervenes on tasks it can see',
  submitter: 'submits tasks (where the template allows) and follows and cancels its own tasks',
  viewer: 'reads templates and the tasks it is associated with',
};

interface ActionRule {
  /** Roles allowed this action (for task actions: on any task they can see). */
  roles: readonly Role[];
  /** `task`: the final decision also depends on the task (see decideTask). */
  scope: 'global' | 'task' | 'self';
  description: string;
}

const ALL: readonly Role[] = ROLES;

/** The action table. `self` actions act on the caller's own data and are open to every role. */
export const ACTIONS = {
  'session.self': { roles: ALL, scope: 'self', description: 'log out, read own profile' },
  'csrf.issue': { roles: ALL, scope: 'self', description: 'get a one-use CSRF / idempotency key' },
  'task.list': { roles: ALL, scope: 'task', description: 'list tasks the caller can see' },
  'task.read': { roles: ALL, scope: 'task', description: 'read a task, its steps and logs' },
  'task.submit': { roles: ['admin', 'operator', 'submitter'], scope: 'global', description: 'submit a task (template submitter lists apply)' },
  'task.approve': { roles: ['admin', 'approver'], scope: 'task', description: 'approve or reject a task (also template approvers and associated admins)' },
  'task.reschedule': { roles: ['admin', 'approver', 'operator'], scope: 'task', description: 'change the start time of a waiting task' },
  'task.intervene': { roles: ['admin', 'approver', 'operator'], scope: 'task', description: 'pause, resume, retry, skip, abort a host, release a hand step' },
  'task.cancel': { roles: ['admin', 'approver', 'operator'], scope: 'task', description: 'cancel (terminate) a task; its creator may cancel it too' },
  'template.read': { roles: ALL, scope: 'global', description: 'read templates, their steps and commands' },
  'template.write': { roles: ['admin', 'operator'], scope: 'global', description: 'create, change and delete templates and commands' },
  'exec_user.read': { roles: ['admin', 'operator'], scope: 'global', description: 'list exec users (never their secrets)' },
  'exec_user.write': { roles: ['admin'], scope: 'global', description: 'create, change and delete exec users and their keys' },
  'known_host.read': { roles: ['admin', 'operator'], scope: 'global', description: 'list pinned host keys' },
  'known_host.write': { roles: ['admin'], scope: 'global', description: 'pin or forget host keys' },
  'user.read': { roles: ['admin'], scope: 'global', description: 'list users' },
  'user.write': { roles: ['admin'], scope: 'global', description: 'create, change, disable users; reset passwords and TOTP' },
  'role.read': { roles: ALL, scope: 'global', description: 'list roles and what they may do' },
  'token.self': { roles: ALL, scope: 'self', description: 'create, list and revoke own API tokens' },
  'token.admin': { roles: ['admin'], scope: 'global', description: "list and revoke anyone's API tokens" },
  'audit.read': { roles: ['admin', 'approver'], scope: 'global', description: 'read the audit log' },
} as const satisfies Record<string, ActionRule>;

export type Action = keyof typeof ACTIONS;

export function isAction(value: string): value is Action {
  return Object.hasOwn(ACTIONS, value);
}

export interface Principal {
  username: string;
  displayName: string;
  role: Role;
}

/** Whether the caller's role may attempt `action` at all (task actions then also ask decideTask). */
export function roleAllows(principal: Principal, action: Action): boolean {
  const rule: ActionRule = ACTIONS[action];
  return (rule.roles as readonly string[]).includes(principal.role);
}

/** Roles that can never pass `action` through resource grants, for a helpful 403 message. */
export function rolesFor(action: Action): readonly Role[] {
  return ACTIONS[action].roles;
}

/** What the task rules need to know about a task. */
export interface TaskFacts {
  creator: string;
  submitter: string;
  associatedUser: Readonly<Record<string, readonly string[]>>;
  templateApprovers: readonly string[];
}

/** Key of `associated_user` whose names may approve (CODO: "associated admins"). */
export const ASSOCIATED_APPROVER_KEY = 'admin';

function associatedNames(task: TaskFacts): string[] {
  return Object.values(task.associatedUser).flatMap((names) => [...names]);
}

function isNamed(principal: Principal, names: readonly string[]): boolean {
  return names.includes(principal.username);
}

/** A task's approvers besides the roles: its template's approvers and associated admins. */
export function isTaskApprover(principal: Principal, task: TaskFacts): boolean {
  return isNamed(principal, task.templateApprovers) || isNamed(principal, task.associatedUser[ASSOCIATED_APPROVER_KEY] ?? []);
}

/**
 * Who sees a task: admins and approvers (role), its creator, its submitter (CODO's free-text name
 * matches the username or display name), its template's approvers and its associated users.
 */
export function canSeeTask(principal: Principal, task: TaskFacts): boolean {
  if (principal.role === 'admin' || principal.role === 'approver') return true;
  if (task.creator === principal.username) return true;
  if (task.submitter !== '' && (task.submitter === principal.username || task.submitter === principal.displayName)) return true;
  return isTaskApprover(principal, task) || isNamed(principal, associatedNames(task));
}

export type TaskDecision = { allowed: true } | { allowed: false; reason: 'invisible' | 'forbidden' | 'four_eyes'; message: string };

/**
 * The one decision for task-scoped actions. `invisible` means the caller must not learn that
 * the task exists (answer as if not found); `forbidden` means it may see but not do this.
 */
export function decideTask(principal: Principal, action: Action, task: TaskFacts, opts: { fourEyes: boolean }): TaskDecision {
  if (!canSeeTask(principal, task)) return { allowed: false, reason: 'invisible', message: 'task not found' };
  switch (action) {
    case 'task.list':
    case 'task.read':
      return { allowed: true };
    case 'task.approve': {
      if (!roleAllows(principal, action) && !isTaskApprover(principal, task)) {
        return { allowed: false, reason: 'forbidden', message: 'only admins, approvers, the template approvers and associated admins may approve this task' };
      }
      if (opts.fourEyes && task.creator === principal.username) {
        return { allowed: false, reason: 'four_eyes', message: 'four-eyes rule: the creator of a task may not approve or reject it' };
      }
      return { allowed: true };
    }
    case 'task.reschedule':
    case 'task.intervene':
      if (roleAllows(principal, action) || isTaskApprover(principal, task)) return { allowed: true };
      return { allowed: false, reason: 'forbidden', message: `role ${principal.role} may not ${ACTIONS[action].description}` };
    case 'task.cancel':
      if (roleAllows(principal, action) || isTaskApprover(principal, task)) return { allowed: true };
      if (task.creator === principal.username && principal.role !== 'viewer') return { allowed: true };
      return { allowed: false, reason: 'forbidden', message: 'only admins, approvers, operators and the task creator may cancel this task' };
    default:
      return roleAllows(principal, action) ? { allowed: true } : { allowed: false, reason: 'forbidden', message: `role ${principal.role} may not do ${action}` };
  }
}

/** Template submitter lists ("模板有权限控制"): an empty list leaves it to the role; admins always may. */
export function canSubmitWithTemplate(principal: Principal, allowedSubmitters: readonly string[]): boolean {
  if (!roleAllows(principal, 'task.submit')) return false;
  if (principal.role === 'admin' || allowedSubmitters.length === 0) return true;
  return isNamed(principal, allowedSubmitters);
}

/** Every action a role allows (for "who am I" and the roles table). */
export function actionsAllowed(role: Role): Action[] {
  return (Object.keys(ACTIONS) as Action[]).filter((a) => roleAllows({ username: '', displayName: '', role }, a));
}
