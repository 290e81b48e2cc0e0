/**
 * Views of vet results: nomos' human text (repo-format.md §5.5, byte-compatible with `nomos vet`
 * apart from the `line:` lines pushsync adds) and a JSON report with a stable shape.
 */
import { DEFAULT_CLUSTER } from './pipeline.ts';
import type { CompileResult, ObjectRef, VetError } from './types.ts';

/** What `nomos vet` prints when every reported cluster is clean. */
export const VET_SUCCESS_MESSAGE = '✅ No validation issues found.';

const URL_BASE = 'For more information, see https://g.co/cloud/acm-errors#knv';

/** Errors that do not stop the pipeline (status.nonBlockingErrorCodes in Config Sync). */
const NON_BLOCKING_CODES: ReadonlySet<string> = new Set(['KNV1021', 'KNV1067']);

export function isBlockingError(e: VetError): boolean {
  return !NON_BLOCKING_CODES.has(e.code);
}

export function hasBlockingErrors(errors: readonly VetError[]): boolean {
  return errors.some(isBlockingError);
}

export interface FormatOptions {
  /**
   * Printed before relative `source:` paths, as nomos prints the absolute policy dir there
   * (`source: /home/me/policy/namespaces/a.yaml`). Default: none, paths stay relative.
   */
  readonly policyDir?: string;
}

/**
 * One error as nomos prints it: `KNV<code>: <message>`, a blank line, the offending objects (or
 * paths), a blank line, the documentation link. pushsync adds `line: <n>` after `source:`.
 */
export function formatError(e: VetError, options: FormatOptions = {}): string {
  const context = formatContext(e, options);
  const head = `${e.code}: ${e.message}`;
  const body = context === '' ? head : `${head}\n\n${context}`;
  return `${body}\n\n${URL_BASE}${codeNumber(e.code)}`;
}

function formatContext(e: VetError, options: FormatOptions): string {
  if (e.objects !== undefined && e.objects.length > 0) {
    // Sorted as nomos sorts them, so the block order does not depend on the engine's order.
    return e.objects
      .map((o) => formatObject(o, options))
      .sort(compareCodePoints)
      .join('\n\n');
  }
  if (e.path !== undefined && e.path !== '') {
    const lines = [`path: ${displayPath(e.path)}`];
    if (e.line !== undefined) lines.push(`line: ${e.line}`);
    return lines.join('\n');
  }
  return '';
}

function formatObject(ref: ObjectRef, options: FormatOptions): string {
  const lines: string[] = [];
  if (ref.source !== undefined && ref.source !== '') {
    lines.push(`source: ${withPolicyDir(ref.source, options.policyDir)}`);
    if (ref.line !== undefined) lines.push(`line: ${ref.line}`);
  }
  if (ref.namespace !== undefined && ref.namespace !== '') lines.push(`namespace: ${ref.namespace}`);
  // nomos leaves out the space when the value is empty (core group, missing name).
  lines.push(ref.name === '' ? 'metadata.name:' : `metadata.name: ${ref.name}`);
  lines.push(ref.group === '' ? 'group:' : `group: ${ref.group}`);
  lines.push(`version: ${ref.version}`);
  lines.push(`kind: ${ref.kind}`);
  return lines.join('\n');
}

function withPolicyDir(source: string, policyDir: string | undefined): string {
  if (policyDir === undefined || policyDir === '' || source.startsWith('/')) return source;
  return `${policyDir.replace(/\/+$/, '')}/${source}`;
}

/** nomos assumes a path without an extension is a directory and marks it with a trailing `/`. */
function displayPath(p: string): string {
  if (p.endsWith('/')) return p;
  const base = p.slice(p.lastIndexOf('/') + 1);
  return base.includes('.') ? p : `${p}/`;
}

function codeNumber(code: string): string {
  return code.startsWith('KNV') ? code.slice(3) : code;
}

/**
 * A list of errors as nomos prints a MultiError: sorted by text and de-duplicated, with an
 * `<n> error(s)` header; a lone error is printed bare, as nomos does.
 */
export function formatErrorList(errors: readonly VetError[], options: FormatOptions = {}): string {
  const texts = uniqueSortedTexts(errors, options);
  if (errors.length === 1 && texts.length === 1) return texts[0] ?? '';
  const parts = [`${texts.length} error(s)\n`, ...texts.map((t, i) => `[${i + 1}] ${t}\n`)];
  return parts.join('\n\n');
}

function uniqueSortedTexts(errors: readonly VetError[], options: FormatOptions): string[] {
  const texts = errors.map((e) => formatError(e, options)).sort(compareCodePoints);
  return texts.filter((t, i) => i === 0 || texts[i - 1] !== t);
}

/**
 * The text `nomos vet` prints after `Error: ` when some cluster has errors, or undefined when all
 * are clean. Clusters appear in the order given; `defaultcluster` gets no header.
 */
export function formatVetErrors(results: readonly CompileResult[], options: FormatOptions = {}): string | undefined {
  const blocks = results
    .filter((r) => r.errors.length > 0)
    .map((r) =>
      r.cluster === DEFAULT_CLUSTER
        ? formatErrorList(r.errors, options)
        : `errors for cluster ${goQuote(r.cluster)}:\n${formatErrorList(r.errors, options)}\n`,
    );
  return blocks.length === 0 ? undefined : blocks.join('\n\n');
}

/** The lines `nomos hydrate` prints to stderr, one per cluster with errors (each ends in `\n`). */
export function formatHydrateErrors(results: readonly CompileResult[], options: FormatOptions = {}): string {
  return results
    .filter((r) => r.errors.length > 0)
    .map((r) => `errors for Cluster ${goQuote(r.cluster)}: ${formatErrorList(r.errors, options)}\n`)
    .join('');
}

/** Go's %q for the strings that can be cluster names (printable ASCII needs only `"` and `\`). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

export interface VetReportObject {
  source: string | null;
  line: number | null;
  namespace: string | null;
  name: string;
  group: string;
  version: string;
  kind: string;
}

export interface VetReportError {
  code: string;
  message: string;
  blocking: boolean;
  path: string | null;
  line: number | null;
  column: number | null;
  objects: VetReportObject[];
}

export interface VetReportCluster {
  cluster: string;
  ok: boolean;
  errors: VetReportError[];
}

/** `pushsync vet --json`: every key is always present (null when unknown), order as in the text. */
export interface VetReport {
  ok: boolean;
  clusters: VetReportCluster[];
  counts: { clusters: number; errors: number; blocking: number };
}

export function vetReport(results: readonly CompileResult[]): VetReport {
  const clusters = results.map((r): VetReportCluster => {
    const errors = uniqueSortedErrors(r.errors).map(reportError);
    return { cluster: r.cluster, ok: errors.length === 0, errors };
  });
  const all = clusters.flatMap((c) => c.errors);
  return {
    ok: all.length === 0,
    clusters,
    counts: { clusters: clusters.length, errors: all.length, blocking: all.filter((e) => e.blocking).length },
  };
}

function uniqueSortedErrors(errors: readonly VetError[]): VetError[] {
  const keyed = errors.map((e) => ({ e, text: formatError(e) }));
  keyed.sort((a, b) => compareCodePoints(a.text, b.text));
  return keyed.filter((k, i) => i === 0 || keyed[i - 1]?.text !== k.text).map((k) => k.e);
}

function reportError(e: VetError): VetReportError {
  return {
    code: e.code,
    message: e.message,
    blocking: isBlockingError(e),
    path: e.path ?? null,
    line: e.line ?? null,
    column: e.column ?? null,
    objects: (e.objects ?? []).map((o) => ({
      source: o.source ?? null,
      line: o.line ?? null,
      namespace: o.namespace === undefined || o.namespace === '' ? null : o.namespace,
      name: o.name,
      group: o.group,
      version: o.version,
      kind: o.kind,
    })),
  };
}

/** Go's sort.Strings order (bytes of UTF-8 = code points), independent of locale. */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(i) ?? 0;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}
