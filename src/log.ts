// A small leveled logger: one line per event on stderr, never secrets.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(level: Level): Logger {
  const at = (l: Level) => (msg: string) => {
    if (order[l] >= order[level]) process.stderr.write(`${new Date().toISOString()} ${l.padEnd(5)} ${msg}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
