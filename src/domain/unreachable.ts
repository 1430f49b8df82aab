// The `default` of an exhaustive switch over a literal union: `value` has type never only when
// every member has its case, so adding a member (a new status) is a compile error at each switch.
export function unreachable(value: never, what: string): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}
