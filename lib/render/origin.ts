/**
 * From kustomize's output back to what was written (issue #12 §3): each rendered object goes to
 * the file its `config.kubernetes.io/origin` annotation names (a resource's own file; for
 * generated objects and Helm chart output, the kustomization that configures them), at the line
 * of its document there, so vet errors point at the source. The annotations pushsync asked for
 * are removed so they never reach the cluster.
 *
 *   withOriginAnnotations(kustomizationText) → the text asking for `buildMetadata: [originAnnotations]`
 *   placeRendered(stdout, {files, root, removeOrigin}) → RenderResult
 */
import yaml from 'js-yaml';
import type { KubeObject, SourceFile, VetError } from '../repo/types.ts';
import { pathError } from '../repo/errors.ts';
import { isPolicyFile } from '../repo/files.ts';
import { isMap, parseFile, splitDocuments } from '../repo/parse.ts';
import { RENDER_ERROR_CODE, normalizePath } from './kustomization.ts';
import { dirOf } from '../repo/paths.ts';
import { joinPath } from './paths.ts';
import { fetchedBasesIn, fetchedOf, type FetchedBase } from './remote-ref.ts';

export const ORIGIN_ANNOTATION = 'config.kubernetes.io/origin';
const ORIGIN = 'originAnnotations';

/**
 * The kustomization text with `originAnnotations` in its buildMetadata, edited as text (a YAML
 * round trip could change what kustomize reads: quoting, YAML 1.1 scalars, comments). `added`:
 * false when the author asked for them already (they then stay on the objects, as in Config Sync).
 */
export function withOriginAnnotations(text: string): { text: string; added: boolean } {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    // A JSON kustomization (`Kustomization` may be JSON): JSON in, JSON out.
    try {
      const k = JSON.parse(trimmed) as Record<string, unknown>;
      const bm = Array.isArray(k.buildMetadata) ? (k.buildMetadata as unknown[]) : [];
      if (bm.includes(ORIGIN)) return { text, added: false };
      return { text: JSON.stringify({ ...k, buildMetadata: [...bm, ORIGIN] }), added: true };
    } catch {
      return { text, added: false }; // kustomize reports the broken file
    }
  }
  const lines = text.split('\n');
  const i = lines.findIndex((l) => /^buildMetadata\s*:/.test(l));
  if (i < 0) {
    const sep = text === '' || text.endsWith('\n') ? '' : '\n';
    return { text: `${text}${sep}buildMetadata: [${ORIGIN}]\n`, added: true };
  }
  const rest = (lines[i] as string).replace(/^buildMetadata\s*:/, '').replace(/\s#.*$/, '').trim();
  if (rest.startsWith('[')) {
    if (new RegExp(`\\b${ORIGIN}\\b`).test(rest)) return { text, added: false };
    lines[i] = /^\[\s*\]$/.test(rest) ? `buildMetadata: [${ORIGIN}]` : `buildMetadata: [${ORIGIN}, ${rest.slice(1)}`;
    return { text: lines.join('\n'), added: true };
  }
  if (rest === '') {
    // Block sequence: look at its items; insert ours first, at their indentation.
    let indent = '';
    for (let j = i + 1; j < lines.length; j++) {
      const l = lines[j] as string;
      if (l.trim() === '' || l.trim().startsWith('#')) continue;
      const m = /^(\s*)-\s*(.*?)\s*(#.*)?$/.exec(l);
      if (!m) break;
      if (indent === '') indent = m[1] ?? '';
      else if ((m[1] ?? '') !== indent) break;
      if ((m[2] ?? '').replace(/^["']|["']$/g, '') === ORIGIN) return { text, added: false };
    }
    lines.splice(i + 1, 0, `${indent}- ${ORIGIN}`);
    return { text: lines.join('\n'), added: true };
  }
  lines[i] = `buildMetadata: [${ORIGIN}]`; // `buildMetadata: null` or a scalar kustomize would reject anyway
  return { text: lines.join('\n'), added: true };
}

export interface PlaceOptions {
  /** The snapshot the render read. */
  readonly files: readonly SourceFile[];
  /** The root kustomization's path: origin paths are relative to its directory. */
  readonly root: string;
  /** Remove the origin annotation from every object (true when pushsync added it). */
  readonly removeOrigin: boolean;
}

interface Placed {
  readonly obj: KubeObject;
  readonly path: string;
  readonly line: number;
  readonly order: number;
}

/** kustomize's YAML stream → one SourceFile per source path, each object at its source line. */
export function placeRendered(
  stdout: string,
  o: PlaceOptions,
): { kind: 'rendered'; files: SourceFile[]; kustomization: string } | { kind: 'failed'; errors: VetError[] } {
  const rootDir = dirOf(o.root);
  const byPath = new Map(o.files.map((f) => [f.path, f]));
  const located = new Locator(byPath);
  const fetched = fetchedBasesIn(byPath);
  const placed: Placed[] = [];
  const errors: VetError[] = [];
  let order = 0;
  for (const doc of splitDocuments(stdout)) {
    // Each document on its own: the engine's per-file size limit is for files people write.
    const parsed = parseFile({ path: 'rendered.yaml', content: doc.text });
    for (const e of parsed.errors) errors.push(pathError(RENDER_ERROR_CODE, `kustomize output is not readable: ${e.message}`, o.root));
    for (const d of parsed.objects) {
      const obj = d.obj;
      const where = fromFetched(sourceOf(obj, rootDir, o.root, byPath, located), fetched);
      if (o.removeOrigin) dropOrigin(obj);
      placed.push({ obj, path: where.path, line: where.line, order: order++ });
    }
  }
  if (errors.length > 0) return { kind: 'failed', errors };
  return { kind: 'rendered', files: writeFiles(placed), kustomization: o.root };
}

/**
 * An object from a remote base fetched by pushsync (remote.ts) goes to the repository's
 * kustomization entry that brought the base in: the fetched copy's path is internal, and the
 * pusher can change only that entry.
 */
function fromFetched(where: { path: string; line: number }, fetched: readonly FetchedBase[]): { path: string; line: number } {
  const f = fetchedOf(fetched, where.path);
  return f === undefined ? where : { path: f.path, line: f.line };
}

interface Origin {
  path?: string;
  repo?: string;
  configuredIn?: string;
  configuredBy?: { kind?: string; name?: string };
}

function originOf(obj: KubeObject): Origin | undefined {
  const v = obj.metadata.annotations?.[ORIGIN_ANNOTATION];
  if (typeof v !== 'string') return undefined;
  try {
    const o = yaml.load(v);
    return isMap(o) ? (o as Origin) : undefined;
  } catch {
    return undefined;
  }
}

function sourceOf(obj: KubeObject, rootDir: string, root: string, byPath: ReadonlyMap<string, SourceFile>, locator: Locator): { path: string; line: number } {
  const origin = originOf(obj);
  // A remote resource (repo: …) has no file here; the root kustomization pulled it in.
  if (!origin || origin.repo) return { path: root, line: 1 };
  if (typeof origin.path === 'string') {
    const p = normalizePath(joinPath(rootDir, origin.path));
    if (p !== undefined && byPath.has(p)) return { path: p, line: locator.objectLine(p, obj) };
  }
  if (typeof origin.configuredIn === 'string') {
    const p = normalizePath(joinPath(rootDir, origin.configuredIn));
    if (p !== undefined && byPath.has(p)) return { path: p, line: locator.generatorLine(p, obj, origin.configuredBy?.kind ?? '') };
  }
  return { path: root, line: 1 };
}

/** Lines in source files, each file read once. */
class Locator {
  private readonly objects = new Map<string, { kind: string; name: string; line: number }[]>();
  private readonly texts = new Map<string, string[]>();
  constructor(private readonly byPath: ReadonlyMap<string, SourceFile>) {}

  /**
   * The line of the document declaring `obj` in `path`: same kind and name, else same kind and a
   * name the rendered one contains (namePrefix/nameSuffix), else the only object of that kind.
   */
  objectLine(path: string, obj: KubeObject): number {
    let decls = this.objects.get(path);
    if (!decls) {
      const f = this.byPath.get(path) as SourceFile;
      decls = parseFile({ path: path.endsWith('.json') ? path : 'x.yaml', content: f.content }).objects.map((d) => ({
        kind: d.obj.kind,
        name: typeof d.obj.metadata.name === 'string' ? d.obj.metadata.name : '',
        line: d.source.line,
      }));
      this.objects.set(path, decls);
    }
    const name = obj.metadata.name;
    const sameKind = decls.filter((d) => d.kind === obj.kind);
    const hit =
      sameKind.find((d) => d.name === name) ??
      sameKind.filter((d) => d.name !== '' && name.includes(d.name)).sort((a, b) => b.name.length - a.name.length)[0] ??
      (sameKind.length === 1 ? sameKind[0] : undefined);
    return hit?.line ?? 1;
  }

  /** Generated objects: the line of the generator entry that made them, else of its list. */
  generatorLine(path: string, obj: KubeObject, by: string): number {
    let lines = this.texts.get(path);
    if (!lines) {
      const f = this.byPath.get(path) as SourceFile;
      lines = (typeof f.content === 'string' ? f.content : new TextDecoder('utf-8').decode(f.content)).split('\n');
      this.texts.set(path, lines);
    }
    const field = GENERATOR_FIELDS[by];
    if (!field) return 1;
    const start = lines.findIndex((l) => new RegExp(`^${field}\\s*:`).test(l));
    if (start < 0) return 1;
    // The entry whose name the object carries: ConfigMap `<prefix>name-<hash>`, chart output labelled `helm.sh/chart: name-version`.
    const names = [obj.metadata.name, obj.metadata.labels?.['helm.sh/chart'] ?? '', obj.metadata.labels?.['app.kubernetes.io/name'] ?? ''];
    for (let i = start + 1; i < lines.length; i++) {
      const l = lines[i] as string;
      if (/^\S/.test(l) && !l.startsWith('-')) break;
      const m = /^\s*-?\s*name\s*:\s*["']?([^"'\s#]+)/.exec(l);
      if (m && m[1] && names.some((n) => n.includes(m[1] as string))) {
        for (let j = i; j > start; j--) if (/^\s*-/.test(lines[j] as string)) return j + 1;
        return i + 1;
      }
    }
    return start + 1;
  }
}

const GENERATOR_FIELDS: Record<string, string> = {
  ConfigMapGenerator: 'configMapGenerator',
  SecretGenerator: 'secretGenerator',
  HelmChartInflationGenerator: 'helmCharts',
};

function dropOrigin(obj: KubeObject): void {
  const ann = obj.metadata.annotations;
  if (!ann || !(ORIGIN_ANNOTATION in ann)) return;
  delete ann[ORIGIN_ANNOTATION];
  if (Object.keys(ann).length === 0) delete obj.metadata.annotations;
}

/**
 * One file per source path. Each object is one JSON line (JSON is YAML, and its strings stay
 * strings under the engine's YAML 1.1 reading), preceded by blank lines so that its document
 * starts at its source line where the file's order allows: the engine then reports that line.
 * A source without a policy-file name (`Kustomization`, `deploy`) gets `.yaml` appended, or the
 * engine would not read it. Objects at one line (chart output, all configured by one entry)
 * go into one List document there.
 */
function writeFiles(placed: Placed[]): SourceFile[] {
  const groups = new Map<string, Placed[]>();
  for (const p of placed) {
    const g = groups.get(p.path);
    if (g) g.push(p);
    else groups.set(p.path, [p]);
  }
  const out: SourceFile[] = [];
  for (const [p, group] of groups) {
    group.sort((a, b) => a.line - b.line || a.order - b.order);
    const name = isPolicyFile(p, 'unstructured') ? p : `${p}.yaml`;
    if (name.endsWith('.json')) {
      const first = group[0] as Placed;
      const value = group.length === 1 ? first.obj : { apiVersion: 'v1', kind: 'List', items: group.map((g) => g.obj) };
      out.push({ path: name, content: `${'\n'.repeat(first.line - 1)}${JSON.stringify(value)}\n` });
      continue;
    }
    // Objects that share a source line (a chart's output, one generator's objects) share one
    // List document, whose items the engine reads at the List's line.
    const atLine = new Map<number, KubeObject[]>();
    for (const g of group) atLine.set(g.line, [...(atLine.get(g.line) ?? []), g.obj]);
    const lines: string[] = [];
    for (const [line, objs] of atLine) {
      if (lines.length > 0) lines.push('---');
      while (lines.length < line - 1) lines.push('');
      lines.push(JSON.stringify(objs.length === 1 ? objs[0] : { apiVersion: 'v1', kind: 'List', items: objs }));
    }
    out.push({ path: name, content: `${lines.join('\n')}\n` });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

