/**
 * Durations on the command line (`--health-timeout 5m`, `--wait=90s`): whole seconds written
 * as Go and kubectl write them (`1h`, `5m`, `90s`, `1m30s`), or a bare number of seconds (`0`).
 */
import { UsageError } from './common.ts';

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Seconds in `value`; a UsageError naming the flag and the value when it is not a duration or above `maxSeconds`. */
export function parseDuration(command: string, flag: string, value: string, maxSeconds: number): number {
  const text = value.trim();
  let seconds: number | undefined;
  if (/^\d+$/.test(text)) seconds = Number(text);
  else {
    const m = DURATION.exec(text);
    if (m && text !== '') seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  }
  if (seconds === undefined || !Number.isSafeInteger(seconds)) {
    throw new UsageError(`invalid ${flag} ${JSON.stringify(value)}: use a duration such as 90s, 5m or 1h (or 0)`, command);
  }
  if (seconds > maxSeconds) throw new UsageError(`invalid ${flag} ${JSON.stringify(value)}: at most ${formatSeconds(maxSeconds)}`, command);
  return seconds;
}

/** `1h`, `5m`, `1m30s`, `0s`: the shortest form parseDuration reads back. */
export function formatSeconds(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = Math.round(total % 60);
  const out = `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
  return out === '' ? '0s' : out;
}
