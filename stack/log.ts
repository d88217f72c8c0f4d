import { pino, type Logger } from 'pino';
import { UsageError } from './user-error.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * The process logger: JSON lines on stderr, pretty-printed when stderr is a TTY.
 * Level from `--log-level` or TCPFUZZ_LOG (default `info`; `debug` shows the TCP transition trace).
 */
export function createLogger(level = process.env.TCPFUZZ_LOG ?? 'info'): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
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
