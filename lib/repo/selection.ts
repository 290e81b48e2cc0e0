/**
 * Cluster selection (spec §3.3): which declared objects a given cluster gets. Runs before
 * scope and tree processing, so duplicates are judged only among the selected objects.
 */
import type { DeclaredObject, SourceFormat, VetError } from './types.ts';
import { objectError } from './errors.ts';
import { isMap } from './parse.ts';
import { matches, parseSelector, type Labels, type Selector } from './selector.ts';
import { topDir } from './paths.ts';
import {
  ANN_CLUSTER_NAME_SELECTOR,
  ANN_CLUSTER_SELECTOR,
  annotation,
  isClusterKind,
  isClusterSelectorKind,
  isNamespace,
} from './keys.ts';

/** Selection errors do not depend on the cluster: check them once per snapshot. */
export function selectionErrors(objs: readonly DeclaredObject[]): VetError[] {
  const errors: VetError[] = [];
  const selectorNames = new Set<string>();
  for (const d of objs) {
    if (!isClusterSelectorKind(d)) continue;
    selectorNames.add(d.obj.metadata.name);
    const spec = d.obj.spec;
    const sel = parseSelector(isMap(spec) ? spec.selector : undefined);
    if (typeof sel === 'string') errors.push(objectError('KNV1014', `ClusterSelector ${JSON.stringify(d.obj.metadata.name)} is invalid: ${sel}`, d));
  }
  for (const d of objs) {
    const legacy = annotation(d, ANN_CLUSTER_SELECTOR);
    const inline = annotation(d, ANN_CLUSTER_NAME_SELECTOR);
    if (legacy !== undefined && inline !== undefined) {
      errors.push(objectError('KNV1066', `An object MUST NOT use both ${ANN_CLUSTER_SELECTOR} and ${ANN_CLUSTER_NAME_SELECTOR}; keep one`, d));
    } else if (legacy !== undefined && !selectorNames.has(legacy)) {
      errors.push(objectError('KNV1013', `The object refers to ClusterSelector ${JSON.stringify(legacy)} (annotation ${ANN_CLUSTER_SELECTOR}), which is not declared`, d));
    }
  }
  return errors;
}

/** The cluster's labels: those of the Cluster object named like it (none → no labels). */
export function clusterLabels(objs: readonly DeclaredObject[], clusterName: string, format: SourceFormat): Labels {
  if (clusterName === '') return {};
  const c = objs.find((d) => isClusterKind(d) && d.obj.metadata.name === clusterName && (format === 'unstructured' || topDir(d.source.path) === 'clusterregistry'));
  return (c?.obj.metadata.labels as Labels | undefined) ?? {};
}

export function inlineNames(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * The objects this cluster gets, without Cluster and ClusterSelector objects. Assumes
 * selectionErrors() found nothing (an unknown selector simply does not match here).
 */
export function selectForCluster(objs: readonly DeclaredObject[], clusterName: string, format: SourceFormat): DeclaredObject[] {
  const labels = clusterLabels(objs, clusterName, format);
  const active = new Map<string, boolean>();
  for (const d of objs) {
    if (!isClusterSelectorKind(d)) continue;
    const spec = d.obj.spec;
    const sel = parseSelector(isMap(spec) ? spec.selector : undefined);
    active.set(d.obj.metadata.name, typeof sel !== 'string' && matches(sel as Selector, labels));
  }
  const lower = clusterName.toLowerCase();
  const selected = (d: DeclaredObject): boolean => {
    const legacy = annotation(d, ANN_CLUSTER_SELECTOR);
    const inline = annotation(d, ANN_CLUSTER_NAME_SELECTOR);
    if (inline !== undefined) return lower !== '' && inlineNames(inline).some((n) => n.toLowerCase() === lower);
    if (legacy !== undefined) return active.get(legacy) === true;
    return true;
  };
  // A namespace is inactive only if every declaration of it is (step 3).
  const nsActive = new Map<string, boolean>();
  for (const d of objs) {
    if (!isNamespace(d)) continue;
    const name = d.obj.metadata.name;
    nsActive.set(name, (nsActive.get(name) ?? false) || selected(d));
  }
  return objs.filter((d) => {
    if (isClusterKind(d) || isClusterSelectorKind(d)) return false;
    if (isNamespace(d)) return selected(d);
    const ns = d.obj.metadata.namespace;
    if (typeof ns === 'string' && nsActive.get(ns) === false) return false;
    return selected(d);
  });
}

/** §3.4: defaultcluster + every Cluster name (H: clusterregistry/ only) + every inline name. */
export function clusterNamesOf(objs: readonly DeclaredObject[], format: SourceFormat): string[] {
  const names = new Set<string>();
  for (const d of objs) {
    if (isClusterKind(d) && (format === 'unstructured' || topDir(d.source.path) === 'clusterregistry')) names.add(d.obj.metadata.name);
    const inline = annotation(d, ANN_CLUSTER_NAME_SELECTOR);
    if (inline !== undefined) for (const n of inlineNames(inline)) names.add(n);
  }
  return [...names];
}
