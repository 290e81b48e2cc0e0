import { describe, expect, it } from 'vitest';
import {
  formatError,
  formatErrorList,
  formatHydrateErrors,
  formatVetErrors,
  hasBlockingErrors,
  vetReport,
} from '../../lib/repo/format.ts';
import type { CompileResult, ObjectRef, VetError } from '../../lib/repo/types.ts';

const LINK = 'For more information, see https://g.co/cloud/acm-errors#knv';

const cm = (name: string, line: number, extra: Partial<ObjectRef> = {}): ObjectRef => ({
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  name,
  source: 'namespaces/foo/ns.yaml',
  line,
  ...extra,
});

const knv1010 = (annotation: string, ref: ObjectRef): VetError => ({
  code: 'KNV1010',
  message:
    'Configs MUST NOT declare unsupported annotations starting with "configmanagement.gke.io/" or "configsync.gke.io/". ' +
    `The config has invalid annotations: "${annotation}"`,
  objects: [ref],
});

const knv1017: VetError = { code: 'KNV1017', message: 'The system/ directory must declare a Repo Resource.', path: 'system/' };

const duplicate: VetError = {
  code: 'KNV1029',
  message: 'Found 2 configs of GroupKind "ConfigMap" in Namespace "foo" named "cm".',
  objects: [cm('cm', 11, { namespace: 'foo' }), cm('cm', 6, { namespace: 'foo' })],
};

const result = (cluster: string, errors: VetError[]): CompileResult => ({ cluster, errors, objects: [] });

describe('formatError', () => {
  it('prints a path-only error as nomos does (KNV1017, captured from nomos vet)', () => {
    expect(formatError(knv1017)).toBe(
      `KNV1017: The system/ directory must declare a Repo Resource.\n\npath: system/\n\n${LINK}1017`,
    );
  });

  it('marks a path without an extension as a directory and adds its line when known', () => {
    const text = formatError({ code: 'KNV1044', message: 'missing Namespace', path: 'namespaces/abs/leaf' });
    expect(text).toContain('\n\npath: namespaces/abs/leaf/\n\n');
    const withLine = formatError({ code: 'KNV2001', message: 'bad YAML', path: 'namespaces/bad.yaml', line: 2 });
    expect(withLine).toBe(`KNV2001: bad YAML\n\npath: namespaces/bad.yaml\nline: 2\n\n${LINK}2001`);
  });

  it('prints object blocks sorted, with `line:` after `source:`, no space after an empty group', () => {
    expect(formatError(duplicate, { policyDir: '/tmp/v3' })).toBe(
      [
        'KNV1029: Found 2 configs of GroupKind "ConfigMap" in Namespace "foo" named "cm".',
        '',
        'source: /tmp/v3/namespaces/foo/ns.yaml',
        'line: 11',
        'namespace: foo',
        'metadata.name: cm',
        'group:',
        'version: v1',
        'kind: ConfigMap',
        '',
        'source: /tmp/v3/namespaces/foo/ns.yaml',
        'line: 6',
        'namespace: foo',
        'metadata.name: cm',
        'group:',
        'version: v1',
        'kind: ConfigMap',
        '',
        `${LINK}1029`,
      ].join('\n'),
    );
  });

  it('leaves out source, line and namespace when unknown, and keeps absolute sources as they are', () => {
    const ref: ObjectRef = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', name: 'reader' };
    expect(formatError({ code: 'KNV1010', message: 'm', objects: [ref] }, { policyDir: '/p' })).toBe(
      `KNV1010: m\n\nmetadata.name: reader\ngroup: rbac.authorization.k8s.io\nversion: v1\nkind: ClusterRole\n\n${LINK}1010`,
    );
    const absolute = formatError({ code: 'KNV1010', message: 'm', objects: [{ ...ref, source: '/abs/cluster/cr.yaml' }] }, { policyDir: '/p/' });
    expect(absolute).toContain('source: /abs/cluster/cr.yaml\n');
    const relative = formatError({ code: 'KNV1010', message: 'm', objects: [{ ...ref, source: 'cluster/cr.yaml' }] }, { policyDir: '/p/' });
    expect(relative).toContain('source: /p/cluster/cr.yaml\n');
  });

  it('prints an error with no objects and no path as the message and the link', () => {
    expect(formatError({ code: 'KNV1070', message: 'too many objects' })).toBe(`KNV1070: too many objects\n\n${LINK}1070`);
  });
});

describe('formatErrorList', () => {
  it('prints a lone error bare, as nomos does', () => {
    expect(formatErrorList([knv1017])).toBe(formatError(knv1017));
  });

  it('numbers several errors under a header, sorted by text (layout captured from nomos vet)', () => {
    const a = knv1010('configmanagement.gke.io/other', { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', name: 'reader' });
    const b = knv1010('configmanagement.gke.io/bogus', { group: '', version: 'v1', kind: 'ConfigMap', name: 'cm' });
    const text = formatErrorList([a, b]);
    expect(text).toBe(`2 error(s)\n\n\n[1] ${formatError(b)}\n\n\n[2] ${formatError(a)}\n`);
  });

  it('removes duplicates; two identical errors still get the header, as in nomos', () => {
    expect(formatErrorList([knv1017, knv1017])).toBe(`1 error(s)\n\n\n[1] ${formatError(knv1017)}\n`);
  });
});

describe('formatVetErrors', () => {
  it('is undefined when every cluster is clean', () => {
    expect(formatVetErrors([result('defaultcluster', []), result('prod', [])])).toBeUndefined();
  });

  it('groups by cluster with no header for defaultcluster (layout captured from nomos vet)', () => {
    const text = formatVetErrors([result('defaultcluster', [knv1017]), result('prod-east', [duplicate]), result('staging', [])]);
    expect(text).toBe(
      `${formatError(knv1017)}\n\nerrors for cluster "prod-east":\n${formatError(duplicate)}\n`,
    );
  });
});

describe('formatHydrateErrors', () => {
  it('prints one line per cluster with errors, as nomos hydrate does', () => {
    const text = formatHydrateErrors([result('defaultcluster', [knv1017]), result('ok', []), result('prod', [knv1017, duplicate])]);
    expect(text).toBe(
      `errors for Cluster "defaultcluster": ${formatError(knv1017)}\n` +
        `errors for Cluster "prod": ${formatErrorList([knv1017, duplicate])}\n`,
    );
  });
});

describe('blocking errors', () => {
  it('treats KNV1021 and KNV1067 as non-blocking', () => {
    expect(hasBlockingErrors([{ code: 'KNV1021', message: 'unknown kind' }, { code: 'KNV1067', message: 'x' }])).toBe(false);
    expect(hasBlockingErrors([{ code: 'KNV1021', message: 'unknown kind' }, knv1017])).toBe(true);
    expect(hasBlockingErrors([])).toBe(false);
  });
});

describe('vetReport', () => {
  it('has a stable shape: every key present, null when unknown, errors sorted and de-duplicated', () => {
    const report = vetReport([result('defaultcluster', [duplicate, knv1017, knv1017]), result('prod', [])]);
    expect(report).toEqual({
      ok: false,
      clusters: [
        {
          cluster: 'defaultcluster',
          ok: false,
          errors: [
            { code: 'KNV1017', message: knv1017.message, blocking: true, path: 'system/', line: null, column: null, objects: [] },
            {
              code: 'KNV1029',
              message: duplicate.message,
              blocking: true,
              path: null,
              line: null,
              column: null,
              objects: [
                { source: 'namespaces/foo/ns.yaml', line: 11, namespace: 'foo', name: 'cm', group: '', version: 'v1', kind: 'ConfigMap' },
                { source: 'namespaces/foo/ns.yaml', line: 6, namespace: 'foo', name: 'cm', group: '', version: 'v1', kind: 'ConfigMap' },
              ],
            },
          ],
        },
        { cluster: 'prod', ok: true, errors: [] },
      ],
      counts: { clusters: 2, errors: 2, blocking: 2 },
    });
  });

  it('is ok with no errors and counts non-blocking ones apart', () => {
    expect(vetReport([]).ok).toBe(true);
    const report = vetReport([result('defaultcluster', [{ code: 'KNV1021', message: 'unknown', path: 'a.yaml', line: 3, column: 1 }])]);
    expect(report.ok).toBe(false);
    expect(report.counts).toEqual({ clusters: 1, errors: 1, blocking: 0 });
    expect(report.clusters[0]?.errors[0]).toMatchObject({ blocking: false, line: 3, column: 1 });
  });
});
