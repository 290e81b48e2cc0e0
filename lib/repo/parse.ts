/**
 * Reading (spec §1): files → declared objects, each with its file and the line its document
 * starts on. Bad input becomes KNV2001/KNV2010 values, never an exception, and every file is
 * still read so one bad file does not hide another.
 */
import yaml from 'js-yaml';
import type { DeclaredObject, KubeObject, SourceFile, VetError } from './types.ts';
import { pathError } from './errors.ts';

/** Bigger than any sane policy file; keeps a hostile push from exhausting a Lambda's memory. */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;

/**
 * Kubernetes reads YAML 1.1 (go-yaml v2), where y/yes/on/n/no/off are booleans. js-yaml's
 * default is YAML 1.2, which reads them as strings and would let `audit: y` pass as a label
 * value that the API server then rejects; timestamps would become Date objects, which the API
 * never sees either. So: the core schema with 1.1 booleans, plus merge keys.
 */
const bool11 = new yaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && BOOL11.has(data),
  construct: (data: string) => TRUE11.has(data),
  predicate: (o: unknown) => typeof o === 'boolean',
  represent: { lowercase: (o: object) => (o.valueOf() ? 'true' : 'false') },
  defaultStyle: 'lowercase',
});
const TRUE11 = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const BOOL11 = new Set([...TRUE11, 'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
// js-yaml exports its built-in types at run time; @types/js-yaml does not declare them.
const builtin = (yaml as unknown as { types: Record<'null' | 'int' | 'float' | 'merge', yaml.Type> }).types;
const SCHEMA = yaml.FAILSAFE_SCHEMA.extend({
  implicit: [builtin.null, bool11, builtin.int, builtin.float, builtin.merge],
});

export interface ParseResult {
  readonly objects: DeclaredObject[];
  readonly errors: VetError[];
}

export function parseFiles(files: readonly SourceFile[]): ParseResult {
  const objects: DeclaredObject[] = [];
  const errors: VetError[] = [];
  for (const f of files) {
    const r = parseFile(f);
    objects.push(...r.objects);
    errors.push(...r.errors);
  }
  return { objects, errors };
}

export function parseFile(file: SourceFile): ParseResult {
  const objects: DeclaredObject[] = [];
  const errors: VetError[] = [];
  const text = decode(file, errors);
  if (text === undefined) return { objects, errors };
  if (/\.json$/i.test(file.path)) {
    parseJson(file.path, text, objects, errors);
  } else {
    for (const doc of splitDocuments(text)) parseYamlDocument(file.path, doc, objects, errors);
  }
  return { objects, errors };
}

function decode(file: SourceFile, errors: VetError[]): string | undefined {
  const size = typeof file.content === 'string' ? Buffer.byteLength(file.content) : file.content.byteLength;
  if (size > MAX_FILE_BYTES) {
    errors.push(
      pathError('KNV2001', `file is ${mib(size)} MiB, over the ${mib(MAX_FILE_BYTES)} MiB limit for one policy file; split it`, file.path),
    );
    return undefined;
  }
  let text: string;
  if (typeof file.content === 'string') {
    text = file.content;
  } else {
    const bad = firstInvalidUtf8(file.content);
    if (bad >= 0) {
      const { line, column } = positionOfByte(file.content, bad);
      errors.push(pathError('KNV2001', `file is not valid UTF-8: invalid byte 0x${hex(file.content[bad] ?? 0)} at line ${line}, column ${column}`, file.path, line, column));
      return undefined;
    }
    text = new TextDecoder('utf-8').decode(file.content);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

interface Doc {
  readonly text: string;
  /** 1-based line of the document's first line in the file. */
  readonly firstLine: number;
}

const DOC_MARKER = /^---/m;

/** Split on lines starting `---` (spec §1), remembering where each document begins. */
export function splitDocuments(text: string): Doc[] {
  // Most files hold one document: no marker line, nothing to split or join.
  if (!DOC_MARKER.test(text)) return [{ text, firstLine: 1 }];
  const docs: Doc[] = [];
  const lines = text.split('\n');
  let start = 0;
  const flush = (end: number) => {
    if (end > start) docs.push({ text: lines.slice(start, end).join('\n'), firstLine: start + 1 });
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.startsWith('---') && (l.length === 3 || /\s/.test(l.charAt(3)))) {
      flush(i);
      // Content after the marker on the same line (`--- {a: 1}`) belongs to the next document.
      const rest = l.slice(3).replace(/^\s*#.*$/, '');
      if (rest.trim() !== '') {
        lines[i] = ' '.repeat(3) + l.slice(3);
        start = i;
      } else {
        start = i + 1;
      }
    }
  }
  flush(lines.length);
  return docs;
}

// Only `\n` ends a line here, as in the full check below: a `\r` inside a comment must not count.
const SOME_CONTENT = /(?:^|\n)[ \t]*[^#\s]/;

function parseYamlDocument(path: string, doc: Doc, objects: DeclaredObject[], errors: VetError[]): void {
  // Empty or comments only. A line whose first visible character is not `#` settles it without
  // the copy the full check makes (9,500 documents in a large repo).
  if (!SOME_CONTENT.test(doc.text) && /^\s*(#.*)?$/.test(doc.text.replace(/\n\s*(#[^\n]*)?(?=\n|$)/g, ''))) return;
  const contentLine = doc.firstLine + firstContentLineOffset(doc.text);
  let value: unknown;
  try {
    value = yaml.load(doc.text, { schema: SCHEMA, filename: path });
  } catch (e) {
    if (e instanceof yaml.YAMLException) {
      const line = doc.firstLine + e.mark.line;
      const column = e.mark.column + 1;
      const offending = doc.text.split('\n')[e.mark.line] ?? '';
      const hint = /^\s*\t/.test(offending) ? ' (a tab character indents this line; YAML indentation must use spaces)' : '';
      errors.push(pathError('KNV2001', `invalid YAML at line ${line}, column ${column}: ${e.reason}${hint}`, path, line, column));
      return;
    }
    throw e;
  }
  if (value === null || value === undefined) return;
  const budget = 4 * doc.text.length + 10_000;
  // Without a `*` there is no alias, and every node takes at least one character of the text.
  if (doc.text.includes('*') && exceedsNodes(value, budget)) {
    errors.push(
      pathError('KNV2001', `the document at line ${contentLine} expands to more than ${budget} YAML nodes through aliases (an alias bomb?); refusing to read it`, path, contentLine),
    );
    return;
  }
  addDocument(path, contentLine, value, objects, errors);
}

function parseJson(path: string, text: string, objects: DeclaredObject[], errors: VetError[]): void {
  if (text.trim() === '') return; // spec §1: an empty JSON file holds no objects
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? positionOfChar(text, Number(pos[1])) : yamlErrorPosition(text);
    if (where) {
      const { line, column } = where;
      errors.push(pathError('KNV2001', `invalid JSON at line ${line}, column ${column}: ${msg}`, path, line, column));
    } else {
      errors.push(pathError('KNV2001', `invalid JSON: ${msg}`, path));
    }
    return;
  }
  addDocument(path, 1 + firstContentLineOffset(text), value, objects, errors);
}

function addDocument(path: string, line: number, value: unknown, objects: DeclaredObject[], errors: VetError[], depth = 0): void {
  if (!isMap(value)) {
    const what = Array.isArray(value) ? 'a list' : `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40)})`;
    errors.push(pathError('KNV2001', `the document at line ${line} is ${what}, not a Kubernetes object (a YAML mapping with apiVersion, kind and metadata)`, path, line));
    return;
  }
  const kind = value.kind;
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(value.items) && depth < 8) {
    for (const item of value.items) addDocument(path, line, item, objects, errors, depth + 1);
    return;
  }
  if (typeof kind !== 'string' || kind === '') {
    // nomos' decoder rejects a document without kind before any check runs: KNV2001, not 2010.
    errors.push(pathError('KNV2001', `the object at line ${line} has no kind: every object needs apiVersion, kind and metadata.name (non-empty strings)`, path, line));
    return;
  }
  const missing: string[] = [];
  if (typeof value.apiVersion !== 'string' || value.apiVersion === '') missing.push('apiVersion');
  const meta = value.metadata;
  if (!isMap(meta)) missing.push('metadata');
  else if (typeof meta.name !== 'string' || meta.name === '') missing.push('metadata.name');
  if (missing.length > 0) {
    errors.push(pathError('KNV2010', `the object at line ${line} has no ${missing.join(', ')}: every object needs apiVersion, kind and metadata.name (non-empty strings)`, path, line));
    return;
  }
  const obj = value as KubeObject;
  const ann = obj.metadata.annotations as unknown;
  if (isMap(ann) && 'config.kubernetes.io/local-config' in ann && ann['config.kubernetes.io/local-config'] !== 'false') return;
  objects.push({ obj, source: { path, line } });
}

/** Node 20's JSON.parse does not always say where it failed; the YAML parser (JSON is YAML) does. */
function yamlErrorPosition(text: string): { line: number; column: number } | undefined {
  try {
    yaml.load(text, { schema: SCHEMA });
  } catch (e) {
    if (e instanceof yaml.YAMLException) return { line: e.mark.line + 1, column: e.mark.column + 1 };
  }
  return undefined;
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Counts nodes, following shared (aliased) subtrees every time they are referenced. */
function exceedsNodes(root: unknown, budget: number): boolean {
  let count = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (++count > budget) return true;
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (isMap(v)) for (const k in v) stack.push(v[k]);
  }
  return false;
}

function firstContentLineOffset(text: string): number {
  // Line by line up to the first content line (nearly always the first): no split of the whole text.
  for (let i = 0, start = 0; start <= text.length; i++) {
    const end = text.indexOf('\n', start);
    const t = text.slice(start, end < 0 ? text.length : end).trim();
    if (t !== '' && !t.startsWith('#')) return i;
    if (end < 0) break;
    start = end + 1;
  }
  return 0;
}

/** Index of the first byte that is not part of valid UTF-8, or -1. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    if (c < 0x80) { i++; continue; }
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; }
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

function positionOfByte(b: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) if (b[i] === 0x0a) { line++; lineStart = i + 1; }
  return { line, column: offset - lineStart + 1 };
}

function positionOfChar(s: string, offset: number): { line: number; column: number } {
  const before = s.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

const mib = (n: number) => (n / 1024 / 1024).toFixed(1).replace(/\.0$/, '');
const hex = (n: number) => n.toString(16).padStart(2, '0');
