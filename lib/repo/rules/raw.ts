/**
 * Raw phase (spec §5.1): rules that look at one declared object at a time, before any
 * hydration, plus the few whole-repo checks nomos runs in the same phase. One rule, one
 * function, named for its KNV code.
 */
import type { DeclaredObject, SourceFormat, VetError } from '../types.ts';
import { objectError, pathError } from '../errors.ts';
import { CLUSTER_REGISTRY_API, CM_API, CM_GROUP, CS_GROUP, groupOf } from '../gvk.ts';
import { isMap } from '../parse.ts';
import { isCrd } from '../scope.ts';
import { dirOf, topDir, baseName } from '../paths.ts';
import { dependsOnValue, formatDependencyRef, dependencyKey, isManagementDisabled, parseDependsOn } from '../depends-on.ts';
import {
  ANN_CLUSTER_NAME_SELECTOR,
  ANN_CLUSTER_SELECTOR,
  ANN_DEPENDS_ON,
  ANN_MANAGED,
  ANN_NAMESPACE_SELECTOR,
  USER_ANNOTATIONS,
  isClusterKind,
  isClusterSelectorKind,
  isNamespace,
  isNamespaceSelectorKind,
  isRepoKind,
  isHierarchyConfigKind,
} from '../keys.ts';

export interface RawContext {
  readonly format: SourceFormat;
  /** Namespace repo (RepoSync scope), unstructured only. */
  readonly namespaceRepo?: string;
}

type ObjectRule = (d: DeclaredObject, ctx: RawContext) => VetError[];

const prefixed = (k: string) => k.startsWith(`${CM_GROUP}/`) || k.startsWith(`${CS_GROUP}/`);

export const knv1010IllegalAnnotation: ObjectRule = (d) => {
  const bad = Object.keys(d.obj.metadata.annotations ?? {}).filter((k) => prefixed(k) && !USER_ANNOTATIONS.has(k));
  return bad.length === 0 ? [] : [objectError('KNV1010', `Configs MUST NOT declare unsupported annotations starting with "${CM_GROUP}/" or "${CS_GROUP}/". The config has invalid annotations: ${bad.map((k) => JSON.stringify(k)).join(', ')}`, d)];
};

export const knv1011IllegalLabel: ObjectRule = (d) => {
  const bad = Object.keys(d.obj.metadata.labels ?? {}).filter(prefixed);
  return bad.length === 0 ? [] : [objectError('KNV1011', `Configs MUST NOT declare labels starting with "${CM_GROUP}/" or "${CS_GROUP}/". The config has disallowed labels: ${bad.map((k) => JSON.stringify(k)).join(', ')}`, d)];
};

export const knv1054NonStringMetadata: ObjectRule = (d) => {
  const out: VetError[] = [];
  for (const field of ['labels', 'annotations'] as const) {
    const m: unknown = d.obj.metadata[field];
    if (m === undefined || m === null) continue;
    if (!isMap(m)) {
      out.push(objectError('KNV1054', `metadata.${field} must be a map of strings, got ${Array.isArray(m) ? 'a list' : typeof m}`, d));
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string') {
        out.push(objectError('KNV1054', `Values in metadata.${field} MUST be strings. To fix, add quotes around the value: ${k}: ${JSON.stringify(String(v))} (it is read as a ${v === null ? 'null' : typeof v}; YAML 1.1 reads unquoted y/yes/on/n/no/off as booleans)`, d));
      }
    }
  }
  return out;
};

export const knv1043UnsupportedConfigSyncType: ObjectRule = (d) => {
  const g = groupOf(d.obj.apiVersion);
  if (g === CM_GROUP && d.obj.kind === 'Sync') {
    return [objectError('KNV1043', 'The Sync type is not supported by this version of Config Sync; remove it from the repo', d)];
  }
  if (isCrd(d)) {
    const spec = d.obj.spec;
    const group = isMap(spec) ? spec.group : undefined;
    if (group === CM_GROUP || group === CS_GROUP) {
      return [objectError('KNV1043', `Config Sync manages its own CustomResourceDefinitions; the repo MUST NOT declare a CRD of group ${String(group)}`, d)];
    }
  }
  return [];
};

export const knv1032IllegalInUnstructured: ObjectRule = (d, ctx) =>
  ctx.format === 'unstructured' && (isRepoKind(d) || isHierarchyConfigKind(d))
    ? [objectError('KNV1032', `${d.obj.kind} objects are only valid in hierarchical repos (sourceFormat: hierarchy); remove it, or set --source-format=hierarchy`, d)]
    : [];

// A Map, not an object literal: the kind is the repo's, and `constructor` or `__proto__` would
// find Object.prototype's members in a plain object.
const DEPRECATED: ReadonlyMap<string, string> = new Map([
  ['DaemonSet', 'apps'], ['Deployment', 'apps'], ['ReplicaSet', 'apps'], ['StatefulSet', 'apps'],
  ['Ingress', 'networking.k8s.io'], ['NetworkPolicy', 'networking.k8s.io'], ['PodSecurityPolicy', 'policy'],
]);

export const knv1050DeprecatedGroup: ObjectRule = (d) => {
  const repl = DEPRECATED.get(d.obj.kind);
  return groupOf(d.obj.apiVersion) === 'extensions' && repl !== undefined
    ? [objectError('KNV1050', `The config uses the deprecated group "extensions" for ${d.obj.kind}; use group "${repl}" (apiVersion ${repl}/v1)`, d)]
    : [];
};

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const isDnsLabel = (s: string) => s.length <= 63 && DNS1123_LABEL.test(s);

export const knv1036InvalidName: ObjectRule = (d) => {
  const name = d.obj.metadata.name;
  if (name === '') return [objectError('KNV1031', 'metadata.name MUST be set', d)];
  if (groupOf(d.obj.apiVersion) === 'rbac.authorization.k8s.io') {
    // RBAC names are path segments (e.g. "system:aggregate-to-view"), not DNS names.
    return name === '.' || name === '..' || /[/%]/.test(name)
      ? [objectError('KNV1036', `metadata.name ${JSON.stringify(name)} is not a valid path segment (no "/", "%", and not "." or "..")`, d)]
      : [];
  }
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name)
    ? []
    : [objectError('KNV1036', `metadata.name ${JSON.stringify(name)} is not a valid DNS-1123 subdomain: at most 253 lowercase letters, digits, "-" and ".", starting and ending with a letter or digit`, d)];
};

const RESERVED_NAMESPACES = new Set(['config-management-system', 'resource-group-system', 'config-management-monitoring']);

export const knv1055InvalidNamespace: ObjectRule = (d) => {
  const out: VetError[] = [];
  if (isNamespace(d) && !isDnsLabel(d.obj.metadata.name)) {
    out.push(objectError('KNV1055', `Namespace name ${JSON.stringify(d.obj.metadata.name)} is not a valid DNS-1123 label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit`, d));
  }
  const ns = d.obj.metadata.namespace;
  if (typeof ns === 'string' && ns !== '' && !isDnsLabel(ns)) {
    out.push(objectError('KNV1055', `metadata.namespace ${JSON.stringify(ns)} is not a valid DNS-1123 label`, d));
  }
  return out;
};

export const knv1034ReservedNamespace: ObjectRule = (d) =>
  isNamespace(d) && RESERVED_NAMESPACES.has(d.obj.metadata.name)
    ? [objectError('KNV1034', `Namespace ${JSON.stringify(d.obj.metadata.name)} is reserved for Config Sync and MUST NOT be declared; objects inside it are allowed`, d)]
    : [];

export const knv1019NamespaceInRoot: ObjectRule = (d, ctx) =>
  ctx.format === 'hierarchy' && isNamespace(d) && dirOf(d.source.path) === 'namespaces'
    ? [objectError('KNV1019', 'Namespaces MUST be declared in subdirectories of namespaces/; namespaces/ itself is an abstract namespace. Move the Namespace into namespaces/<name>/', d)]
    : [];

export const knv1020NamespaceDirName: ObjectRule = (d, ctx) => {
  if (ctx.format !== 'hierarchy' || !isNamespace(d)) return [];
  const dir = dirOf(d.source.path);
  if (topDir(d.source.path) !== 'namespaces' || dir === 'namespaces') return [];
  return baseName(dir) === d.obj.metadata.name
    ? []
    : [objectError('KNV1020', `A Namespace MUST be named after the directory that contains it: directory ${JSON.stringify(baseName(dir))}, metadata.name ${JSON.stringify(d.obj.metadata.name)}`, d)];
};

export const knv1009NamespaceMismatch: ObjectRule = (d, ctx) => {
  if (ctx.format !== 'hierarchy') return [];
  const ns = d.obj.metadata.namespace;
  if (typeof ns !== 'string' || ns === '') return [];
  const dirName = baseName(dirOf(d.source.path));
  return ns === dirName
    ? []
    : [objectError('KNV1009', `metadata.namespace ${JSON.stringify(ns)} MUST match the directory that contains the object (${JSON.stringify(dirName)}), or be left out`, d)];
};

export const knv1057DepthLabel: ObjectRule = (d, ctx) => {
  if (ctx.format !== 'hierarchy') return [];
  const bad = Object.keys(d.obj.metadata.labels ?? {}).filter((k) => k.endsWith('.tree.hnc.x-k8s.io/depth'));
  return bad.length === 0 ? [] : [objectError('KNV1057', `Labels ending in ".tree.hnc.x-k8s.io/depth" are added by Config Sync and MUST NOT be declared: ${bad.map((k) => JSON.stringify(k)).join(', ')}`, d)];
};

export const knv1005IllegalManaged: ObjectRule = (d) => {
  const ann = d.obj.metadata.annotations ?? {};
  if (!(ANN_MANAGED in ann) || ann[ANN_MANAGED] === 'disabled') return [];
  return [objectError('KNV1005', `Annotation ${ANN_MANAGED} may only be set to "disabled" (to stop managing the object); got ${JSON.stringify(ann[ANN_MANAGED])}`, d)];
};

export const knv1065CrdDecode: ObjectRule = (d) => {
  if (!isCrd(d)) return [];
  const spec = d.obj.spec;
  const problems: string[] = [];
  if (!isMap(spec)) problems.push('spec must be a map');
  else {
    if (typeof spec.group !== 'string' || spec.group === '') problems.push('spec.group must be a non-empty string');
    if (!isMap(spec.names) || typeof spec.names.kind !== 'string' || typeof spec.names.plural !== 'string') problems.push('spec.names.kind and spec.names.plural must be strings');
    if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') problems.push(`spec.scope must be Namespaced or Cluster, got ${JSON.stringify(spec.scope)}`);
    if (spec.versions !== undefined && !Array.isArray(spec.versions)) problems.push('spec.versions must be a list');
  }
  return problems.length === 0 ? [] : [objectError('KNV1065', `The CustomResourceDefinition cannot be decoded: ${problems.join('; ')}`, d)];
};

export const knv1048CrdName: ObjectRule = (d) => {
  if (!isCrd(d)) return [];
  const spec = d.obj.spec;
  if (!isMap(spec) || !isMap(spec.names) || typeof spec.names.plural !== 'string' || typeof spec.group !== 'string') return [];
  const want = `${spec.names.plural}.${spec.group}`;
  return d.obj.metadata.name === want
    ? []
    : [objectError('KNV1048', `A CustomResourceDefinition MUST be named <spec.names.plural>.<spec.group>: want ${JSON.stringify(want)}, got ${JSON.stringify(d.obj.metadata.name)}`, d)];
};

export const knv1069SelfManagement: ObjectRule = (d, ctx) => {
  if (groupOf(d.obj.apiVersion) !== CS_GROUP) return [];
  const { name, namespace } = d.obj.metadata;
  const self = ctx.namespaceRepo
    ? d.obj.kind === 'RepoSync' && name === 'repo-sync' && namespace === ctx.namespaceRepo
    : d.obj.kind === 'RootSync' && name === 'root-sync' && namespace === 'config-management-system';
  return self ? [objectError('KNV1069', `The repo declares the ${d.obj.kind} that syncs it; a sync MUST NOT manage itself. Move ${name} to another repo`, d)] : [];
};

const SERVER_FIELDS = ['ownerReferences', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

export const knv1045ServerField: ObjectRule = (d) => {
  const set = SERVER_FIELDS.filter((f) => d.obj.metadata[f] !== undefined && d.obj.metadata[f] !== null).map((f) => `metadata.${f}`);
  const status = d.obj.status;
  if (groupOf(d.obj.apiVersion) !== CM_GROUP && status !== undefined && status !== null && !(isMap(status) && Object.keys(status).length === 0)) set.push('status');
  return set.length === 0 ? [] : [objectError('KNV1045', `Configs MUST NOT declare fields the API server sets: ${set.join(', ')}. Remove them (exported objects need cleaning before they go into the repo)`, d)];
};

/** 1006: Config Sync's own types must decode into their schema. */
export const knv1006ConfigSyncSchema: ObjectRule = (d) => {
  const problems: string[] = [];
  const spec = d.obj.spec;
  if (isRepoKind(d)) {
    if (spec !== undefined && !isMap(spec)) problems.push('spec must be a map');
    else if (isMap(spec) && spec.version !== undefined && typeof spec.version !== 'string') problems.push('spec.version must be a string');
  } else if (isHierarchyConfigKind(d)) {
    if (!isMap(spec)) problems.push('spec must be a map');
    else if (spec.resources !== undefined && !Array.isArray(spec.resources)) problems.push('spec.resources must be a list');
    else for (const [i, r] of ((spec.resources as unknown[] | undefined) ?? []).entries()) {
      if (!isMap(r)) problems.push(`spec.resources[${i}] must be a map`);
      else {
        if (r.group !== undefined && typeof r.group !== 'string') problems.push(`spec.resources[${i}].group must be a string`);
        if (r.kinds !== undefined && (!Array.isArray(r.kinds) || r.kinds.some((k) => typeof k !== 'string'))) problems.push(`spec.resources[${i}].kinds must be a list of strings`);
        if (r.hierarchyMode !== undefined && typeof r.hierarchyMode !== 'string') problems.push(`spec.resources[${i}].hierarchyMode must be a string`);
      }
    }
  } else if (isClusterSelectorKind(d) || isNamespaceSelectorKind(d)) {
    if (!isMap(spec)) problems.push('spec must be a map with a selector');
    else {
      if (isNamespaceSelectorKind(d) && spec.mode !== undefined && typeof spec.mode !== 'string') problems.push('spec.mode must be a string');
      problems.push(...selectorShapeProblems(spec.selector));
    }
  } else if (isClusterKind(d)) {
    if (spec !== undefined && spec !== null && !isMap(spec)) problems.push('spec must be a map');
  }
  return problems.length === 0 ? [] : [objectError('KNV1006', `The ${d.obj.kind} does not decode into its schema: ${problems.join('; ')}`, d)];
};

/** Type errors in a LabelSelector are decode errors (1006); semantic ones are 1014. */
function selectorShapeProblems(sel: unknown): string[] {
  if (sel === undefined || sel === null) return [];
  if (!isMap(sel)) return ['spec.selector must be a map'];
  const out: string[] = [];
  const { matchLabels, matchExpressions } = sel;
  if (matchLabels !== undefined && matchLabels !== null && (!isMap(matchLabels) || Object.values(matchLabels).some((v) => typeof v !== 'string'))) {
    out.push('spec.selector.matchLabels must be a map of strings');
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) out.push('spec.selector.matchExpressions must be a list');
    else matchExpressions.forEach((e, i) => {
      if (!isMap(e) || (e.key !== undefined && typeof e.key !== 'string') || (e.operator !== undefined && typeof e.operator !== 'string') || (e.values !== undefined && e.values !== null && (!Array.isArray(e.values) || e.values.some((v) => typeof v !== 'string')))) {
        out.push(`spec.selector.matchExpressions[${i}] must be {key: string, operator: string, values: [strings]}`);
      }
    });
  }
  return out;
}

const SELECTION_KEYS = [ANN_CLUSTER_SELECTOR, ANN_CLUSTER_NAME_SELECTOR];

export const knv1004SelectorOnSelector: ObjectRule = (d) => {
  if (!(isClusterKind(d) || isClusterSelectorKind(d) || isNamespaceSelectorKind(d))) return [];
  const ann = d.obj.metadata.annotations ?? {};
  const bad = [...SELECTION_KEYS, ANN_NAMESPACE_SELECTOR].filter((k) => k in ann);
  return bad.length === 0 ? [] : [objectError('KNV1004', `${d.obj.kind} objects MUST NOT use selector annotations (${bad.join(', ')})`, d)];
};

export const knv1039ClusterRegistryObject: ObjectRule = (d, ctx) =>
  ctx.format === 'hierarchy' && (isClusterKind(d) || isClusterSelectorKind(d)) && topDir(d.source.path) !== 'clusterregistry'
    ? [objectError('KNV1039', `${d.obj.kind} objects MUST be declared in clusterregistry/`, d)]
    : [];

/**
 * A depends-on annotation that cli-utils could not read, or that names one object twice (its
 * DuplicateDependencyError): Config Sync fails every sync with KNV2009 on it. Objects marked
 * `managed: disabled` are never applied, so their annotation is never read.
 */
export const knv2009DependsOnSyntax: ObjectRule = (d) => {
  const value = dependsOnValue(d);
  if (value === undefined || isManagementDisabled(d)) return [];
  const invalid = (why: string) => [objectError('KNV2009', `invalid ${JSON.stringify(ANN_DEPENDS_ON)} annotation: ${why}`, d)];
  const parsed = parseDependsOn(value);
  if (!parsed.ok) return invalid(parsed.error);
  const seen = new Set<string>();
  for (const ref of parsed.refs) {
    const key = dependencyKey(ref);
    if (seen.has(key)) return invalid(`duplicate dependency: ${formatDependencyRef(ref)} is listed more than once`);
    seen.add(key);
  }
  return [];
};

export const OBJECT_RULES: readonly ObjectRule[] = [
  knv1054NonStringMetadata,
  knv1010IllegalAnnotation,
  knv1011IllegalLabel,
  knv1043UnsupportedConfigSyncType,
  knv1032IllegalInUnstructured,
  knv1050DeprecatedGroup,
  knv1036InvalidName,
  knv1055InvalidNamespace,
  knv1034ReservedNamespace,
  knv1019NamespaceInRoot,
  knv1020NamespaceDirName,
  knv1009NamespaceMismatch,
  knv1057DepthLabel,
  knv1005IllegalManaged,
  knv1065CrdDecode,
  knv1048CrdName,
  knv1069SelfManagement,
  knv1045ServerField,
  knv1006ConfigSyncSchema,
  knv1004SelectorOnSelector,
  knv1039ClusterRegistryObject,
  knv2009DependsOnSyntax,
];

/** 1029 for ClusterSelectors with one name. */
export function knv1029DuplicateClusterSelector(objs: readonly DeclaredObject[]): VetError[] {
  return duplicatesBy(objs.filter(isClusterSelectorKind), (d) => d.obj.metadata.name, 'ClusterSelector');
}

export function duplicatesBy(objs: readonly DeclaredObject[], key: (d: DeclaredObject) => string, what: string): VetError[] {
  const groups = new Map<string, DeclaredObject[]>();
  for (const d of objs) {
    const k = key(d);
    const g = groups.get(k);
    if (g) g.push(d);
    else groups.set(k, [d]);
  }
  const out: VetError[] = [];
  for (const g of groups.values()) {
    if (g.length > 1) {
      const name = g[0]?.obj.metadata.name ?? '';
      out.push(objectError('KNV1029', `${what} names MUST be unique; ${g.length} are named ${JSON.stringify(name)}`, ...g));
    }
  }
  return out;
}

/** H: exactly one Repo in system/ with a supported version (1017 / 2012 / 1027). */
export function repoRules(objs: readonly DeclaredObject[]): VetError[] {
  const repos = objs.filter((d) => isRepoKind(d) && topDir(d.source.path) === 'system');
  if (repos.length === 0) {
    return [pathError('KNV1017', `The system/ directory MUST declare a Repo object (apiVersion ${CM_API}, kind Repo, spec.version "1.0.0")`, 'system/')];
  }
  if (repos.length > 1) return [objectError('KNV2012', 'The system/ directory MUST declare exactly one Repo object', ...repos)];
  const repo = repos[0] as DeclaredObject;
  const spec = repo.obj.spec;
  const version = isMap(spec) ? spec.version : undefined;
  return version === '1.0.0' || version === '0.1.0' || (version !== undefined && typeof version !== 'string') // KNV1006 covers a non-string
    ? []
    : [objectError('KNV1027', `Unsupported Repo spec.version ${JSON.stringify(version ?? '')}; use "1.0.0"`, repo)];
}

export const CLUSTER_REGISTRY = CLUSTER_REGISTRY_API;
