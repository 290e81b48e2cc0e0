import { describe, expect, it } from 'vitest';
import { validateRegistration } from '../../lib/registry/index.ts';
import type { FieldError } from '../../lib/registry/index.ts';
import { KUBECONFIG, KUBE_TOKEN, registration } from './support.ts';

function errorsOf(input: Record<string, unknown>): FieldError[] {
  const v = validateRegistration(input);
  if (v.ok) throw new Error(`expected errors for ${JSON.stringify({ ...input, kubeconfig: '…' })}`);
  return [...v.errors];
}

describe('validateRegistration', () => {
  it('accepts a full registration and fills the defaults', () => {
    const v = validateRegistration(registration({ dir: './policy/', context: 'other' }));
    expect(v).toEqual({
      ok: true,
      warnings: [],
      registration: { name: 'mycluster', kubeconfig: KUBECONFIG, context: 'other', repo: 'acme/policy', branch: 'main', dir: 'policy', sourceFormat: 'hierarchy' },
    });
  });

  it('a missing dir is the repository root, written "."', () => {
    const v = validateRegistration(registration({ dir: undefined, sourceFormat: 'unstructured' }));
    expect(v.ok && v.registration).toMatchObject({ dir: '.', sourceFormat: 'unstructured' });
    const root = validateRegistration(registration({ dir: '/'.slice(1) }));
    expect(root.ok && root.registration.dir).toBe('.');
  });

  it.each([
    ['name', 'My_Cluster', /name "My_Cluster" must be a DNS-1123 label/],
    ['name', 'a'.repeat(64), /DNS-1123 label: at most 63/],
    ['name', '-edge', /DNS-1123/],
    ['name', '', /name is required/],
    ['repo', 'acme', /must be owner\/name/],
    ['repo', 'acme/policy/extra', /one "\/"/],
    ['repo', 'acme/policy.git', /must not end in "\.git"/],
    ['repo', 'ac me/policy', /invalid owner "ac me"/],
    ['repo', 'acme/..', /invalid repository name/],
    ['branch', '', /branch is required/],
    ['branch', 'refs/heads/main', /not a ref: use "main"/],
    ['branch', 'feature..x', /contains "\.\."/],
    ['branch', 'with space', /contains a space/],
    ['branch', 'x.lock', /\.lock/],
    ['dir', '../policy', /contains "\.\."/],
    ['dir', 'policy/../../etc', /contains "\.\."/],
    ['dir', '/abs/policy', /is absolute/],
    ['dir', 'a\\b', /backslash/],
    ['sourceFormat', 'flat', /sourceFormat "flat" must be one of hierarchy, unstructured/],
    ['context', 'nope', /context "nope" is not in the kubeconfig \(contexts: mycluster, other\)/],
  ])('%s = %j is refused: %s', (field, value, message) => {
    const errors = errorsOf(registration({ [field]: value }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'REGISTRY_INVALID', field });
    expect(errors[0]?.message).toMatch(message);
    if (value !== '') expect(errors[0]?.value).toBe(String(value).length > 100 ? expect.any(String) : value);
  });

  it('reports every bad field at once', () => {
    const errors = errorsOf({ name: 'Bad Name', repo: 'nope', branch: '', dir: '../x', kubeconfig: KUBECONFIG });
    expect(errors.map((e) => e.field).sort()).toEqual(['branch', 'dir', 'name', 'repo']);
  });

  it('non-string values are refused with the field named', () => {
    const errors = errorsOf(registration({ name: 42, repo: ['a/b'] }));
    expect(errors.map((e) => e.field).sort()).toEqual(['name', 'repo']);
  });

  describe('kubeconfig', () => {
    it.each([
      ['empty', '', /kubeconfig is required/],
      ['not YAML', 'clusters: [\n  - {name: a', /not valid YAML \(line \d+\)/],
      ['a list', '- a\n- b\n', /not a YAML mapping/],
      ['no clusters', KUBECONFIG.replace(/clusters:[\s\S]*?users:/, 'clusters: []\nusers:'), /no clusters: it needs at least one entry/],
      ['no users', KUBECONFIG.replace(/users:[\s\S]*?contexts:/, 'contexts:'), /no users/],
      ['no contexts', KUBECONFIG.replace(/contexts:[\s\S]*?current-context/, 'current-context'), /no contexts/],
      ['a dangling user', KUBECONFIG.replace('user: admin', 'user: ghost'), /context "mycluster" names user "ghost", which is not in "users"/],
      ['no current-context and no --context', KUBECONFIG.replace('current-context: mycluster', ''), /no current-context: pass --context/],
      ['a current-context that does not exist', KUBECONFIG.replace('current-context: mycluster', 'current-context: gone'), /current-context "gone" is not among its contexts/],
      ['no server', KUBECONFIG.replace('server: https://127.0.0.1:6443', 'insecure-skip-tls-verify: true'), /cluster "mycluster" has no server URL/],
    ])('%s is refused', (_label, kubeconfig, message) => {
      const errors = errorsOf(registration({ kubeconfig }));
      expect(errors.some((e) => e.field === 'kubeconfig' && message.test(e.message)), JSON.stringify(errors)).toBe(true);
    });

    it('never quotes the kubeconfig content in an error', () => {
      const broken = `${KUBECONFIG}\n  bad: [unclosed ${KUBE_TOKEN}`;
      const errors = errorsOf(registration({ kubeconfig: broken }));
      expect(JSON.stringify(errors)).not.toContain(KUBE_TOKEN);
      expect(errors.every((e) => e.value === undefined || !e.value.includes('apiVersion'))).toBe(true);
    });

    it('warns about local files and plugins that will not exist where the functions run', () => {
      const withFiles = KUBECONFIG.replace('certificate-authority-data: TUlJQ0FBQUFBQUFB', 'certificate-authority: /home/me/ca.crt').replace(
        `token: ${KUBE_TOKEN}`,
        'exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}',
      );
      const v = validateRegistration(registration({ kubeconfig: withFiles }));
      expect(v.ok).toBe(true);
      const warnings = v.ok ? v.warnings.join('\n') : '';
      expect(warnings).toMatch(/certificate-authority from a local file/);
      expect(warnings).toMatch(/exec\/auth-provider plugin/);
    });
  });
});
