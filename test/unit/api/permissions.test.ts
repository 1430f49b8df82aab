// The permission rules (src/domain/permissions.ts): pure decisions, no database.
import { describe, expect, it } from 'vitest';
import { ACTIONS, canSeeTask, canSubmitWithTemplate, decideTask, ROLES, roleAllows, type Principal, type Role, type TaskFacts } from '../../../src/domain/permissions';

const p = (username: string, role: Role, displayName = username): Principal => ({ username, role, displayName });
const task: TaskFacts = { creator: 'alice', submitter: '杨红飞', associatedUser: { admin: ['carl'], watchers: ['wendy'] }, templateApprovers: ['tina'] };

describe('permissions', () => {
  it('every action names only known roles; admin may do everything', () => {
    for (const [name, rule] of Object.entries(ACTIONS)) {
      for (const r of rule.roles) expect(ROLES, name).toContain(r);
      expect(roleAllows(p('root', 'admin'), name as keyof typeof ACTIONS), name).toBe(true);
    }
  });

  it('task visibility: creator, submitter by name or display name, associated users, template approvers, approvers, admins', () => {
    expect(canSeeTask(p('alice', 'submitter'), task)).toBe(true);
    expect(canSeeTask(p('yhf', 'viewer', '杨红飞'), task)).toBe(true);
    expect(canSeeTask(p('wendy', 'viewer'), task)).toBe(true);
    expect(canSeeTask(p('carl', 'viewer'), task)).toBe(true);
    expect(canSeeTask(p('tina', 'viewer'), task)).toBe(true);
    expect(canSeeTask(p('zed', 'approver'), task)).toBe(true);
    expect(canSeeTask(p('root', 'admin'), task)).toBe(true);
    expect(canSeeTask(p('olga', 'operator'), task)).toBe(false);
    expect(canSeeTask(p('vic', 'viewer'), task)).toBe(false);
  });

  it('approval: approvers, admins, template approvers and associated admins; never the creator with four-eyes', () => {
    const four = { fourEyes: true };
    expect(decideTask(p('zed', 'approver'), 'task.approve', task, four).allowed).toBe(true);
    expect(decideTask(p('tina', 'viewer'), 'task.approve', task, four).allowed).toBe(true);
    expect(decideTask(p('carl', 'viewer'), 'task.approve', task, four).allowed).toBe(true);
    expect(decideTask(p('wendy', 'viewer'), 'task.approve', task, four)).toMatchObject({ allowed: false, reason: 'forbidden' });
    expect(decideTask(p('vic', 'viewer'), 'task.approve', task, four)).toMatchObject({ allowed: false, reason: 'invisible' });
    const own: TaskFacts = { ...task, creator: 'root' };
    expect(decideTask(p('root', 'admin'), 'task.approve', own, four)).toMatchObject({ allowed: false, reason: 'four_eyes' });
    expect(decideTask(p('root', 'admin'), 'task.approve', own, { fourEyes: false }).allowed).toBe(true);
  });

  it('cancel: operators and approvers, and the creator herself (not a viewer)', () => {
    expect(decideTask(p('alice', 'submitter'), 'task.cancel', task, { fourEyes: true }).allowed).toBe(true);
    expect(decideTask(p('alice', 'viewer'), 'task.cancel', task, { fourEyes: true }).allowed).toBe(false);
    expect(decideTask(p('wendy', 'viewer'), 'task.intervene', task, { fourEyes: true }).allowed).toBe(false);
    expect(decideTask(p('wendy', 'operator'), 'task.intervene', task, { fourEyes: true }).allowed).toBe(true);
  });

  it('template submitter lists', () => {
    expect(canSubmitWithTemplate(p('sam', 'submitter'), [])).toBe(true);
    expect(canSubmitWithTemplate(p('sam', 'submitter'), ['sam'])).toBe(true);
    expect(canSubmitWithTemplate(p('bea', 'submitter'), ['sam'])).toBe(false);
    expect(canSubmitWithTemplate(p('root', 'admin'), ['sam'])).toBe(true);
    expect(canSubmitWithTemplate(p('sam', 'viewer'), ['sam'])).toBe(false);
  });
});
