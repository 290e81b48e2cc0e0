/**
 * Structured logs: one JSON object per line (`time`, `level`, `msg`, then bound and per-call
 * fields), with a redaction step every line goes through, so a secret never reaches the output
 * even when someone logs a whole object that happens to hold one.
 *
 *   createLogger({level?, sink?, fields?})  → Logger; level defaults to $PUSHSYNC_LOG_LEVEL or info
 *   logger.child({deliveryId, repo, commit, cluster})  → a Logger whose every line carries them
 *   registerSecret(value)                    → that value is masked wherever it appears in a line
 *   redactText(text)                         → text with registered secrets and credential-shaped
 *                                              values masked: the one filter for log lines, commit
 *                                              statuses and check runs (lib/github/report.ts)
 *   redact(value)                            → what the logger would print for value
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger with the same sink and level whose lines also carry `fields`. */
  child(fields: LogFields): Logger;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  /** Default: $PUSHSYNC_LOG_LEVEL, else "info". */
  readonly level?: LogLevel;
  /** Receives each line without its trailing newline. Default: process.stdout. */
  readonly sink?: (line: string) => void;
  /** Bound to every line. */
  readonly fields?: LogFields;
  readonly now?: () => Date;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export const LOG_LEVEL_ENV = 'PUSHSYNC_LOG_LEVEL';
export const REDACTED = '[redacted]';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const RESERVED = new Set(['time', 'level', 'msg']);
const MAX_DEPTH = 8;
/** Shorter secrets are masked only where a whole value equals them: masking every occurrence of
 * "abc" inside other text would shred the logs without protecting anything. */
const MIN_SUBSTRING_SECRET = 8;
/** Lines of a multi-line secret (a PEM key) at least this long are masked on their own too. */
const MIN_SECRET_LINE = 16;

/**
 * Key names whose values are never printed. Compared after lower-casing and dropping
 * punctuation, by substring, so `client-key-data`, `GITHUB_TOKEN`, `privateKey` and
 * `Authorization` all match; a false positive only hides a harmless value.
 */
const SENSITIVE_KEY_PARTS = [
  'token',
  'secret',
  'password',
  'passwd',
  'privatekey',
  'kubeconfig',
  'authorization',
  'credential',
  'cookie',
  'apikey',
  'keydata',
  'signature',
];

export function isSensitiveKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SENSITIVE_KEY_PARTS.some((part) => k.includes(part));
}

const secrets = new Set<string>();

/** Mask `value` in every log line from now on (and refuse it in fan-out payloads). */
export function registerSecret(value: string): void {
  if (value === '') return;
  secrets.add(value);
  if (value.includes('\n')) {
    for (const line of value.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed.length >= MIN_SECRET_LINE) secrets.add(trimmed);
    }
  }
}

/** For tests: forget every registered secret. */
export function clearRegisteredSecrets(): void {
  secrets.clear();
}

/** True when `text` is, or (for secrets long enough) contains, a registered secret. */
export function containsRegisteredSecret(text: string): boolean {
  for (const s of secrets) {
    if (text === s || (s.length >= MIN_SUBSTRING_SECRET && text.includes(s))) return true;
  }
  return false;
}

function maskRegistered(text: string): string {
  if (secrets.size === 0) return text;
  let out = text;
  for (const s of secrets) {
    if (out === s) return REDACTED;
    if (s.length >= MIN_SUBSTRING_SECRET && out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

/*
 * Credential-shaped text, masked even when the value was never registered: an exec plugin's
 * stderr, an OIDC error or a proxy's answer can carry a token pushsync never saw. Only the value
 * goes, never the whole line, so the reader still learns what failed.
 */
const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g;
const AUTH_SCHEME = /\b(Bearer|Basic)([ \t]+)[A-Za-z0-9\-._~+/]+=*/gi;
/** `scheme://user:password@host`: the password only. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]+):[^\s/@]+@/gi;
/** GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_) and JWTs (service-account and OIDC tokens). */
const TOKEN_SHAPES = /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)/g;
/** `"key": "value"` (JSON). */
const JSON_PAIR = /"([A-Za-z][A-Za-z0-9_.-]*)"(\s*:\s*)"(?:[^"\\]|\\.)*"/g;
/** `key=value` (flags, query strings, logfmt); `--token=` included. */
const EQUALS_PAIR = /(?<![A-Za-z0-9_])([A-Za-z][A-Za-z0-9_.-]*)(=)("[^"]*"|'[^']*'|[^\s&,;"'<>()[\]{}]+)/g;
/**
 * `key: value` (YAML, HTTP headers). The colon must be followed by a space and the key must not
 * continue a path or file name, so `Secret/shop/db-password: created` and `secret.yaml:4:` stay.
 */
const COLON_PAIR = /(?<![A-Za-z0-9_./-])([A-Za-z][A-Za-z0-9_-]*)(:[ \t]+)("[^"]*"|'[^']*'|[^\s,;"'<>()[\]{}]+)/g;

/**
 * A key about a secret rather than holding one (`PUSHSYNC_SECRET_PREFIX="x"` in a configuration
 * error, `tokenFile=/path`): its value is what the reader needs to fix the setting.
 */
const NAMES_A_SETTING = /(prefix|name|names|file|path|seconds|ttl|id|url|arn|ref|type|kind)$/i;

/** What every text leaving pushsync (a log line, a commit status, a check run) goes through. */
export function redactText(text: string): string {
  let out = maskRegistered(text);
  if (out === REDACTED) return out;
  out = out.replace(PRIVATE_KEY, REDACTED);
  out = out.replace(AUTH_SCHEME, (_m, scheme: string, space: string) => `${scheme}${space}${REDACTED}`);
  out = out.replace(URL_PASSWORD, (_m, head: string) => `${head}:${REDACTED}@`);
  out = out.replace(TOKEN_SHAPES, REDACTED);
  out = out.replace(JSON_PAIR, (m, key: string, sep: string) => (isSensitiveKey(key) ? `"${key}"${sep}"${REDACTED}"` : m));
  const pair =
    (prose: RegExp) =>
    (m: string, key: string, sep: string, value: string): string =>
      isSensitiveKey(key) && !NAMES_A_SETTING.test(key) && !prose.test(key) && value !== REDACTED ? `${key}${sep}${REDACTED}` : m;
  out = out.replace(EQUALS_PAIR, pair(/^$/));
  // "kubeconfig: no context …", "credentials: …" start pushsync's own messages; their values are
  // whole documents, which no log or status ever gets (sensitive object keys are dropped).
  out = out.replace(COLON_PAIR, pair(/kubeconfig|credential/i));
  return out;
}

const maskString = redactText;

/**
 * A JSON-ready copy of `value` with sensitive keys replaced by "[redacted]" at any depth and
 * registered secrets masked inside strings. Errors become {name, message, code?, stack?}.
 */
export function redact(value: unknown): unknown {
  return redactAt(value, 0, new WeakSet());
}

function redactAt(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  switch (typeof value) {
    case 'string':
      return maskString(value);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
      return undefined;
    case 'symbol':
    case 'function':
      return `[${typeof value}]`;
    case 'object':
      break;
  }
  if (value === null) return null;
  const obj = value as object;
  if (seen.has(obj)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[truncated]';
  seen.add(obj);
  try {
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
    if (obj instanceof Uint8Array) return `[${obj.byteLength} bytes]`;
    if (obj instanceof Error) return redactError(obj, depth, seen);
    if (Array.isArray(obj)) return obj.map((item) => redactAt(item, depth + 1, seen) ?? null);
    if (obj instanceof Map) return redactEntries([...obj.entries()].map(([k, v]) => [String(k), v]), depth, seen);
    if (obj instanceof Set) return [...obj].map((item) => redactAt(item, depth + 1, seen) ?? null);
    return redactEntries(Object.entries(obj), depth, seen);
  } finally {
    seen.delete(obj);
  }
}

function redactEntries(entries: readonly (readonly [string, unknown])[], depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    if (isSensitiveKey(k)) {
      if (v !== undefined) out[k] = REDACTED;
      continue;
    }
    const r = redactAt(v, depth + 1, seen);
    if (r !== undefined) out[k] = r;
  }
  return out;
}

function redactError(err: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const extra = Object.entries(err).filter(([k]) => k !== 'name' && k !== 'message' && k !== 'stack');
  const out: Record<string, unknown> = { name: err.name, message: maskString(err.message) };
  Object.assign(out, redactEntries(extra, depth, seen));
  if (err.cause !== undefined) out.cause = redactAt(err.cause, depth + 1, seen);
  if (err.stack !== undefined) out.stack = maskString(err.stack);
  return out;
}

export function parseLogLevel(value: string | undefined): LogLevel | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(v) ? (v as LogLevel) : undefined;
}

const stdoutSink = (line: string): void => void process.stdout.write(`${line}\n`);

export function createLogger(options: LoggerOptions = {}): Logger {
  const env = options.env ?? process.env;
  const fromEnv = env[LOG_LEVEL_ENV];
  const level = options.level ?? parseLogLevel(fromEnv) ?? 'info';
  const sink = options.sink ?? stdoutSink;
  const now = options.now ?? (() => new Date());
  const logger = makeLogger({ level, sink, now }, options.fields ?? {});
  if (options.level === undefined && fromEnv !== undefined && fromEnv.trim() !== '' && parseLogLevel(fromEnv) === undefined) {
    logger.warn(`${LOG_LEVEL_ENV}=${JSON.stringify(fromEnv)} is not one of ${LOG_LEVELS.join(', ')}; logging at info`);
  }
  return logger;
}

interface Shared {
  readonly level: LogLevel;
  readonly sink: (line: string) => void;
  readonly now: () => Date;
}

function makeLogger(shared: Shared, bound: LogFields): Logger {
  const threshold = RANK[shared.level];
  const emit = (level: LogLevel, msg: string, fields: LogFields | undefined): void => {
    if (RANK[level] < threshold) return;
    const line: Record<string, unknown> = { time: shared.now().toISOString(), level, msg: maskString(msg) };
    addFields(line, bound);
    if (fields !== undefined) addFields(line, fields);
    let text: string;
    try {
      text = JSON.stringify(line);
    } catch (err) {
      // redact() already made the line plain data; this only guards against a toJSON that throws.
      text = JSON.stringify({ time: line.time, level, msg: line.msg, logError: String(err) });
    }
    shared.sink(text);
  };
  return {
    level: shared.level,
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => makeLogger(shared, { ...bound, ...fields }),
    enabled: (level) => RANK[level] >= threshold,
  };
}

function addFields(line: Record<string, unknown>, fields: LogFields): void {
  for (const [k, v] of Object.entries(fields)) {
    // A field named like a fixed key is kept, under another name, rather than overwriting it.
    const key = RESERVED.has(k) ? `field.${k}` : k;
    if (isSensitiveKey(k)) {
      if (v !== undefined) line[key] = REDACTED;
      continue;
    }
    const r = redact(v);
    if (r !== undefined) line[key] = r;
  }
}

/** A logger that drops everything: the default where a caller passes none. */
export const silentLogger: Logger = {
  level: 'error',
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
  enabled: () => false,
};
