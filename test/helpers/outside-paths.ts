/**
 * Finds paths that point outside the checkout in the project's own code, so that a clone with
 * nothing beside it keeps working (README "Quick start"; test/standalone.test.ts runs it).
 *
 * What counts, in TypeScript/JavaScript string and template literals (comments are prose, not
 * reads, and are not looked at), in shell scripts outside comments, and anywhere in Markdown:
 * - an absolute path under a root that belongs to one machine: `/work`, `/shared`, `/root`,
 *   `/home`, `/Users`;
 * - `/tmp/…` read as an input (the literal is what `readFile`, `existsSync`, `new URL`, `join`, an
 *   import, … get):
 *   code makes its scratch files under `os.tmpdir()`, it never reads one that happens to be
 *   there. Elsewhere (`--output /tmp/out` in help text, a display root in a test) it is data;
 * - the `shared/` folder beside the checkout by a relative path (`../shared`, `../../shared/…`);
 * - a relative path starting with `..`, read (as above), that leaves the checkout when resolved
 *   against the file's own directory (what `new URL(p, import.meta.url)` and
 *   `join(import.meta.dirname, p)` do);
 * - `join`/`resolve(import.meta.dirname, '..', '..', …)` whose literal segments leave it.
 * `/usr/bin/env` shebangs, `/proc`, `/dev/null`, `/etc/…` test inputs and URL paths are left
 * alone: they are not one machine's layout, and a file that names them works in any clone.
 *
 * The scan is lexical (no data flow), so it is precise only about literals. It guards against
 * the mistake that happened (a fixture read from the machine the code was written on); it is
 * not a proof.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** The folders whose files must not point outside the checkout (issue #10 §1). */
export const SCANNED_DIRS = ['lib', 'functions', 'bin', 'scripts', 'bench', 'test'] as const;

export interface OutsidePath {
  /** Repository-relative, `/`-separated. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** The line that names the path, as written (trimmed). */
  readonly text: string;
  readonly reason: string;
}

const CODE = /\.(?:[cm]?ts|[cm]?js)$/;
const SHELL = /\.sh$/;
const MARKDOWN = /\.md$/;
/** Test data (policy repos, nomos' outputs): Kubernetes objects, not files the code reads. */
const DATA_DIR = 'test/fixtures/';
/** Not sources: installed packages and build output (the .gitignore'd trees). */
const SKIPPED = new Set(['node_modules', 'dist', '.serverless', '.esbuild', '.pushsync', 'compiled']);

/**
 * An absolute root at the start of a path: the start of the text, after a separator a path can
 * follow (space, `=`, `:`, quotes, brackets, a comma) or after `file://`. `https://host/home/x`
 * does not match: its `/home` follows a host name.
 */
const rootAt = (roots: string): RegExp => new RegExp(`(?:^|[\\s=:,;([{'"\`]|file://)(/(?:${roots}))(?=/|$|[\\s'"\`),;:\\]}])`);
const MACHINE_ROOT = rootAt('work|shared|root|home|Users');
const SCRATCH_ROOT = rootAt('tmp');
/** Calls whose path argument is read (or resolved to be read): a literal `/tmp/…` there is an input. */
const READERS = new Set([
  'readFile', 'readFileSync', 'createReadStream', 'readdir', 'readdirSync', 'existsSync', 'stat', 'statSync',
  'lstat', 'lstatSync', 'access', 'accessSync', 'open', 'openSync', 'copyFile', 'copyFileSync', 'cp', 'cpSync',
  'join', 'resolve', 'URL', 'pathToFileURL', 'fileURLToPath', 'loadAll', 'load', 'import', 'require',
]);
/** The `shared/` folder beside the checkout, named relatively. */
const SIBLING_SHARED = /(?:^|[^\w.-])((?:\.\.\/)+shared)(?=\/|$|[^\w.-])/;

/** Every offender in one file's text. `file` is its repository-relative path (it sets the base of relative paths). */
export function scanText(file: string, text: string): OutsidePath[] {
  if (CODE.test(file)) return scanCode(file, text);
  if (SHELL.test(file)) return scanShell(file, text);
  if (MARKDOWN.test(file)) return scanMarkdown(file, text);
  return [];
}

/** Every offender under `SCANNED_DIRS` of the checkout at `root`, sorted by file and line. */
export function scanRepository(root: string): OutsidePath[] {
  const out: OutsidePath[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!SKIPPED.has(e.name) && child !== 'test/apiserver/bin') walk(child);
      } else if (e.isFile() && (!child.startsWith(DATA_DIR) || MARKDOWN.test(child))) {
        out.push(...scanText(child, readFileSync(path.join(root, child), 'utf8')));
      }
    }
  };
  for (const dir of SCANNED_DIRS) if (existsSync(path.join(root, dir))) walk(dir);
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

/** `file:line: reason: text`, one offender per line: what a failing test prints. */
export function formatOutsidePaths(found: readonly OutsidePath[]): string {
  return found.map((f) => `${f.file}:${f.line}: ${f.reason}: ${f.text}`).join('\n');
}

interface Verdict {
  readonly reason: string;
  /** The part of the value that names the path (to find its line). */
  readonly token: string;
}

/**
 * Why `value` (a literal, or a line of a script) names a path outside the checkout, if it does.
 * `relativeAtStart`: the value is a whole path, so a leading `..` is resolved; `read`: it is an input.
 */
function judge(file: string, value: string, relativeAtStart: boolean, read: boolean): Verdict | undefined {
  const abs = MACHINE_ROOT.exec(value) ?? (read ? SCRATCH_ROOT.exec(value) : null);
  if (abs?.[1]) return { reason: `absolute path under ${abs[1]} (one machine's layout)`, token: abs[1] };
  const shared = SIBLING_SHARED.exec(value);
  if (shared?.[1]) return { reason: `${shared[1]} is the folder beside the checkout`, token: shared[1] };
  // Only where it is read: elsewhere `../../x` is data (a symlink target, a path a validator must refuse).
  if (relativeAtStart && read && (value === '..' || value.startsWith('../')) && escapes(file, [value])) {
    const ups = value.split('/').filter((s) => s === '..').length;
    const base = path.posix.dirname(file);
    return { reason: `${ups} × ".." from ${base === '.' ? 'the repository root' : `${base}/`} leaves the checkout`, token: value.slice(0, 3 * ups) };
  }
  return undefined;
}

/** Whether these segments, resolved from the directory of `file` (repository-relative), leave the repository. */
function escapes(file: string, segments: readonly string[]): boolean {
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), ...segments));
  return resolved === '..' || resolved.startsWith('../');
}

function scanCode(file: string, text: string): OutsidePath[] {
  const kind = /\.[cm]?ts$/.test(file) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const lines = text.split('\n');
  const out: OutsidePath[] = [];
  /** Reported on the line of the literal where the token is (a template literal spans lines). */
  const report = (node: ts.Node, verdict: Verdict): void => {
    const start = node.getStart(source);
    const raw = text.slice(start, node.getEnd());
    const at = Math.max(0, raw.indexOf(verdict.token));
    const line = source.getLineAndCharacterOfPosition(start + at).line;
    out.push({ file, line: line + 1, text: (lines[line] ?? '').trim(), reason: verdict.reason });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      const verdict = judge(file, node.text, true, isRead(node));
      if (verdict) report(node, verdict);
    } else if (ts.isTemplateExpression(node)) {
      // Only the head starts a path; a later piece follows a value the scan cannot know.
      const read = isRead(node);
      for (const [i, piece] of [node.head, ...node.templateSpans.map((s) => s.literal)].entries()) {
        const verdict = judge(file, piece.text, i === 0, read);
        if (verdict) report(piece, verdict);
      }
    } else if (ts.isCallExpression(node)) {
      const verdict = dirnameChain(file, node);
      if (verdict) report(node, verdict);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Whether a literal is an argument of a call that reads or resolves a path (see READERS). */
function isRead(node: ts.Node): boolean {
  const parent = node.parent;
  if (parent === undefined) return false;
  if (ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent)) return true;
  if (!ts.isCallExpression(parent) && !ts.isNewExpression(parent)) return false;
  const callee = parent.expression;
  if (callee.kind === ts.SyntaxKind.ImportKeyword) return true;
  const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
  return READERS.has(name);
}

/** `join(import.meta.dirname, '..', '..', 'x')` and `resolve(__dirname, …)`: the literal segments after the module's directory. */
function dirnameChain(file: string, call: ts.CallExpression): Verdict | undefined {
  const callee = ts.isPropertyAccessExpression(call.expression) ? call.expression.name.text : ts.isIdentifier(call.expression) ? call.expression.text : '';
  if (callee !== 'join' && callee !== 'resolve') return undefined;
  const [first, ...rest] = call.arguments;
  const isModuleDir =
    first !== undefined &&
    ((ts.isIdentifier(first) && first.text === '__dirname') ||
      (ts.isPropertyAccessExpression(first) && first.name.text === 'dirname' && ts.isMetaProperty(first.expression) && first.expression.keywordToken === ts.SyntaxKind.ImportKeyword));
  if (!isModuleDir) return undefined;
  const segments: string[] = [];
  for (const a of rest) {
    if (!ts.isStringLiteral(a) && !ts.isNoSubstitutionTemplateLiteral(a)) break;
    segments.push(a.text);
  }
  // A literal that escapes on its own is reported as that literal already.
  if (segments.length < 2 || segments.some((s) => escapes(file, [s])) || !escapes(file, segments)) return undefined;
  return { reason: `${callee}(<module dir>, ${segments.map((s) => JSON.stringify(s)).join(', ')}) leaves the checkout`, token: '' };
}

function scanShell(file: string, text: string): OutsidePath[] {
  const out: OutsidePath[] = [];
  text.split('\n').forEach((line, i) => {
    // A comment is prose (and `#!/usr/bin/env bash` is one); `#` inside a word (`$#`, `${#a}`) is not.
    const code = line.replace(/(^|\s)#.*$/, '$1');
    // Every word of a command may be a path it reads.
    let verdict = judge(file, code, false, true);
    // Each word that starts with "..", resolved from the repository root: where the scripts run
    // (npm runs them there, and they `cd "$(dirname "$0")/.."` first).
    for (const m of code.matchAll(/(?:^|[\s='"])(\.\.(?:\/[^\s'"]*)?)/g)) verdict ??= judge(path.posix.basename(file), m[1] ?? '', true, true);
    if (verdict) out.push({ file, line: i + 1, text: line.trim(), reason: verdict.reason });
  });
  return out;
}

function scanMarkdown(file: string, text: string): OutsidePath[] {
  const out: OutsidePath[] = [];
  text.split('\n').forEach((line, i) => {
    // Prose: only absolute roots; a relative link is the reader's to follow.
    const verdict = judge(file, line, false, false);
    if (verdict) out.push({ file, line: i + 1, text: line.trim(), reason: verdict.reason });
  });
  return out;
}
