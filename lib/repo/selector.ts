/** Kubernetes LabelSelector (matchLabels + matchExpressions): parse once, match many times. */
import { isMap } from './parse.ts';

export type Labels = Readonly<Record<string, string>>;

interface Requirement {
  readonly key: string;
  readonly op: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

export type Selector = readonly Requirement[];

/** Returns the selector, or a reason why it is invalid. Config Sync rejects an empty selector. */
export function parseSelector(v: unknown): Selector | string {
  if (!isMap(v)) return 'spec.selector must be a LabelSelector (matchLabels and/or matchExpressions)';
  const reqs: Requirement[] = [];
  const { matchLabels, matchExpressions } = v;
  for (const k of Object.keys(v)) {
    if (k !== 'matchLabels' && k !== 'matchExpressions') return `spec.selector has an unknown field ${JSON.stringify(k)}`;
  }
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isMap(matchLabels)) return 'spec.selector.matchLabels must be a map of strings';
    for (const [key, val] of Object.entries(matchLabels)) {
      if (typeof val !== 'string') return `spec.selector.matchLabels.${key} must be a string`;
      reqs.push({ key, op: 'In', values: [val] });
    }
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) return 'spec.selector.matchExpressions must be a list';
    for (const [i, e] of matchExpressions.entries()) {
      if (!isMap(e) || typeof e.key !== 'string' || e.key === '') return `spec.selector.matchExpressions[${i}] needs a key`;
      const op = e.operator;
      const values = e.values ?? [];
      if (!Array.isArray(values) || values.some((x) => typeof x !== 'string')) return `spec.selector.matchExpressions[${i}].values must be a list of strings`;
      if (op === 'In' || op === 'NotIn') {
        if (values.length === 0) return `spec.selector.matchExpressions[${i}]: operator ${op} needs at least one value`;
      } else if (op === 'Exists' || op === 'DoesNotExist') {
        if (values.length > 0) return `spec.selector.matchExpressions[${i}]: operator ${op} takes no values`;
      } else {
        return `spec.selector.matchExpressions[${i}]: operator ${JSON.stringify(op)} is not one of In, NotIn, Exists, DoesNotExist`;
      }
      reqs.push({ key: e.key, op, values: values as string[] });
    }
  }
  if (reqs.length === 0) return 'spec.selector is empty; an empty selector is rejected (it does not match everything)';
  return reqs;
}

export function matches(sel: Selector, labels: Labels): boolean {
  for (const r of sel) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const val = labels[r.key];
    switch (r.op) {
      case 'In':
        if (!has || !r.values.includes(val as string)) return false;
        break;
      case 'NotIn':
        if (has && r.values.includes(val as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default: {
        const never: never = r.op;
        throw new Error(`unreachable operator ${String(never)}`);
      }
    }
  }
  return true;
}
