import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The process logger: JSON lines on stderr, pretty-printed when stderr is a TTY.
 * Level from `--log-level` or TCPFUZZ_LOG (default `info`; `debug` shows the TCP transition trace).
 */
export function createLogger(level = process.env.TCPFUZZ_LOG ?? 'info'): Logger {
  if (process.stderr.isTTY) {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l' } },
    });
  }
  return pino({ level }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that discards everything (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });
