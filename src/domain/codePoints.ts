/** Length in code points, as JSON Schema's minLength/maxLength count (String.length counts UTF-16 units). */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
