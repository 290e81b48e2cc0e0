/**
 * Log lines that anyone on the internet can cause — one per refused request — sampled: the first
 * `perWindow` of each window are written, the rest only counted, and the count (by code) is
 * written once when the window ends. A flood of forged deliveries then costs a few lines a
 * minute in CloudWatch, not one per request, and still says how big it was.
 */
import type { LogFields, Logger } from '../log.ts';

export interface LogSamplerOptions {
  /** Lines written per window (default 10). */
  readonly perWindow?: number;
  /** Default one minute. */
  readonly windowMs?: number;
  /** Write the count when its window ends even if nothing else is logged (default true). */
  readonly flushOnTimer?: boolean;
  readonly now?: () => number;
}

export const LOG_SAMPLER_DEFAULTS = { perWindow: 10, windowMs: 60_000 } as const;

export interface LogSampler {
  /** Write `msg` with `logger` at `level` if the window has room; otherwise count it under `fields.code`. */
  log(level: 'warn' | 'error', logger: Logger, msg: string, fields: LogFields): void;
  /** Write the count of lines left out so far, if any, and start a new window. */
  flush(): void;
}

export const SUPPRESSED_MSG = 'refused requests not logged individually';

/** `summary` is where the count goes (lines left out carry per-request fields it should not). */
export function createLogSampler(summary: Logger, options: LogSamplerOptions = {}): LogSampler {
  const perWindow = options.perWindow ?? LOG_SAMPLER_DEFAULTS.perWindow;
  const windowMs = options.windowMs ?? LOG_SAMPLER_DEFAULTS.windowMs;
  const now = options.now ?? Date.now;
  let windowStart = now();
  let written = 0;
  let suppressed = 0;
  let byCode: Record<string, number> = {};
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (suppressed > 0) {
      // A list, not a map keyed by code: the logger redacts keys that look like credentials (…SIGNATURE…).
      const counts = Object.entries(byCode).map(([code, count]) => ({ code, count }));
      summary.warn(SUPPRESSED_MSG, { suppressed, byCode: counts, since: new Date(windowStart).toISOString(), windowMs, perWindow });
    }
    windowStart = now();
    written = 0;
    suppressed = 0;
    byCode = {};
  };

  return {
    log(level, logger, msg, fields) {
      if (now() - windowStart >= windowMs) flush();
      if (written < perWindow) {
        written++;
        logger[level](msg, fields);
        return;
      }
      suppressed++;
      const code = typeof fields.code === 'string' ? fields.code : 'other';
      byCode[code] = (byCode[code] ?? 0) + 1;
      if (timer === undefined && options.flushOnTimer !== false) {
        // unref: a pending count never keeps a process alive (a Lambda container thaws and flushes it).
        timer = setTimeout(flush, Math.max(0, windowStart + windowMs - now()));
        timer.unref();
      }
    },
    flush,
  };
}
