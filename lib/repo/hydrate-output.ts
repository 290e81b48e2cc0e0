/**
 * `nomos hydrate` output (repo-format.md §7) as data: per-cluster hydrated objects → files.
 * Pure: the caller writes the files. The bytes match nomos: YAML as Go's sigs.k8s.io/yaml
 * (go-yaml v2) prints it, JSON as Go's encoding/json MarshalIndent prints it.
 */
import { hasBlockingErrors } from './format.ts';
import type { CompileResult, KubeObject } from './types.ts';
import { groupOf } from './gvk.ts';
import { ANN_HNC_MANAGED_BY, ANN_MANAGED, ANN_ORIGINAL_HNC_MANAGED_BY, DEPTH_SUFFIX } from './keys.ts';
import { emitYaml, goJsonIndent, toJson, type Json } from './go-encoding.ts';

export type HydrateFormat = 'yaml' | 'json';

export interface HydrateOptions {
  readonly format: HydrateFormat;
}

/** One output file; `path` is relative to the output dir, `/`-separated. */
export interface HydratedFile {
  readonly path: string;
  readonly content: string;
}

interface Placed {
  readonly obj: KubeObject;
  readonly cluster: string;
}

/**
 * One file per object, `<kind>_<name>.<ext>` (namespaced under `<namespace>/`, everything under
 * `<cluster>/` when more than one cluster is reported); a clash switches both to
 * `<kind>.<group>_<name>.<ext>`. Clusters with blocking errors are left out.
 */
export function hydrateFiles(results: readonly CompileResult[], options: HydrateOptions): HydratedFile[] {
  const ext = options.format;
  // nomos counts every reported cluster here, including ones left out for their errors.
  const multiCluster = results.length > 1;
  const placed = includedObjects(results);
  const plain = placed.map((p) => fileName(p, ext, multiCluster, false));
  const uses = new Map<string, number>();
  for (const name of plain) uses.set(name, (uses.get(name) ?? 0) + 1);

  const byPath = new Map<string, KubeObject[]>();
  placed.forEach((p, i) => {
    const name = plain[i] ?? '';
    const finalName = (uses.get(name) ?? 0) > 1 ? fileName(p, ext, multiCluster, true) : name;
    const objs = byPath.get(finalName) ?? [];
    objs.push(withoutServerFields(cleanObject(p.obj)));
    byPath.set(finalName, objs);
  });
  return [...byPath.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, objs]) => ({ path, content: render(objs, options.format) }));
}

/**
 * `--flat`: every object of every included cluster in one file. As in nomos, flat YAML keeps
 * `status` and `metadata.creationTimestamp` (its flat writer skips that step); flat JSON drops them.
 */
export function hydrateFlat(results: readonly CompileResult[], options: HydrateOptions): string {
  const objs = includedObjects(results).map((p) => cleanObject(p.obj));
  return render(options.format === 'json' ? objs.map(withoutServerFields) : objs, options.format);
}

function includedObjects(results: readonly CompileResult[]): Placed[] {
  return results
    .filter((r) => !hasBlockingErrors(r.errors))
    .flatMap((r) => r.objects.map((d) => ({ obj: d.obj, cluster: r.cluster })));
}

function render(objs: readonly KubeObject[], format: HydrateFormat): string {
  if (format === 'json') return goJsonIndent({ apiVersion: 'v1', kind: 'List', items: objs as unknown as Json[] });
  return objs.map((o) => `---\n${emitYaml(o as unknown as Json)}`).join('');
}

function fileName(p: Placed, ext: string, multiCluster: boolean, withGroup: boolean): string {
  const { kind, metadata } = p.obj;
  const group = groupOf(p.obj.apiVersion);
  let name = withGroup ? `${kind}.${group}_${metadata.name}.${ext}` : `${kind}_${metadata.name}.${ext}`;
  if (metadata.namespace !== undefined && metadata.namespace !== '') name = `${metadata.namespace}/${name}`;
  if (multiCluster) name = `${p.cluster}/${name}`;
  return name.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Cleaning (Config Sync pkg/hydrate/clean.go): strip what the pipeline added.

const KEPT_ANNOTATION = ANN_MANAGED;
const HNC_MANAGED_BY = ANN_HNC_MANAGED_BY;
const ORIGINAL_HNC_MANAGED_BY = ANN_ORIGINAL_HNC_MANAGED_BY;

/**
 * pushsync.dev/ keys a user writes in the repo, which the pipeline reads and never adds (the
 * rollout's opt-out, lib/cluster's Keys.health): part of the config, so the output keeps them.
 * Every other pushsync.dev/ key is the pipeline's own and goes, as Config Sync's do.
 */
const USER_AUTHORED_KEYS: ReadonlySet<string> = new Set(['pushsync.dev/health']);

function isPipelineKey(key: string): boolean {
  if (USER_AUTHORED_KEYS.has(key)) return false;
  return key.startsWith('configmanagement.gke.io/') || key.startsWith('configsync.gke.io/') || key.startsWith('pushsync.dev/');
}

/**
 * A deep copy of `obj` without the metadata the pipeline adds (repo-format.md §7), so the output
 * re-vets cleanly. Only `configmanagement.gke.io/managed` survives among Config Sync's keys.
 */
export function cleanObject(obj: KubeObject): KubeObject {
  const copy = toJson(obj) as unknown as KubeObject;
  const meta = copy.metadata;
  const isNamespace = copy.apiVersion === 'v1' && copy.kind === 'Namespace';

  const annotations = { ...(meta.annotations ?? {}) };
  if (isNamespace && HNC_MANAGED_BY in annotations) {
    const original = annotations[ORIGINAL_HNC_MANAGED_BY];
    if (original === undefined) delete annotations[HNC_MANAGED_BY];
    else annotations[HNC_MANAGED_BY] = original;
  }
  for (const key of Object.keys(annotations)) {
    if (isPipelineKey(key) && key !== KEPT_ANNOTATION) delete annotations[key];
  }
  setOrDrop(meta, 'annotations', annotations);

  const labels = { ...(meta.labels ?? {}) };
  for (const key of Object.keys(labels)) {
    if (isPipelineKey(key) || (isNamespace && key.endsWith(DEPTH_SUFFIX))) delete labels[key];
  }
  setOrDrop(meta, 'labels', labels);
  return copy;
}

function setOrDrop(meta: KubeObject['metadata'], key: 'labels' | 'annotations', value: Record<string, string>): void {
  if (Object.keys(value).length === 0) delete meta[key];
  else meta[key] = value;
}

/** nomos' rmBadFields: the fields a typed round-trip would have filled in. */
function withoutServerFields(obj: KubeObject): KubeObject {
  const { status: _status, ...rest } = obj;
  const { creationTimestamp: _created, ...metadata } = obj.metadata;
  return { ...rest, metadata } as KubeObject;
}
