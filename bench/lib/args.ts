// Command-line flags shared by the benches.

/** The integer value of a flag, in 1..max, or an error naming the flag. */
export function integerArg(flag: string, text: string | undefined, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag}: expected an integer in 1..${max}, got ${text}`);
  return n;
}
