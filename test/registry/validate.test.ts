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
    ['name', 'fleet', /name "fleet" is taken: pushsync\/fleet is one of pushsync's own status contexts/],
    ['name', 'vet', /name "vet" is taken/],
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

  it('accepts the rollout settings: a health timeout in seconds (0 = no wait), a GitHub environment, production', () => {
    for (const healthTimeout of [0, 90, 3600]) {
      const v = validateRegistration(registration({ healthTimeout }));
      expect(v.ok && v.registration.healthTimeout).toBe(healthTimeout);
    }
    const v = validateRegistration(registration({ environment: 'production / eu-west', production: true }));
    expect(v.ok && v.registration).toMatchObject({ environment: 'production / eu-west', production: true });
    // Defaults are not stored: absent means 5 minutes, the cluster's name, not production.
    const plain = validateRegistration(registration({ production: false }));
    expect(plain.ok && plain.registration).not.toHaveProperty('production');
    expect(plain.ok && plain.registration).not.toHaveProperty('healthTimeout');
    expect(plain.ok && plain.registration).not.toHaveProperty('environment');
  });

  it.each([
    ['healthTimeout', -1, '-1', /healthTimeout -1 must be a whole number of seconds from 0 \(do not wait for health\) to 3600/],
    ['healthTimeout', 3601, '3601', /healthTimeout 3601 must be a whole number of seconds from 0/],
    ['healthTimeout', 1.5, '1.5', /healthTimeout 1.5 must be a whole number/],
    ['healthTimeout', '300', '300', /healthTimeout "300" must be a whole number/],
    ['environment', '', '', /environment "" must not be empty/],
    ['environment', 'e'.repeat(256), expect.any(String), /is longer than 255 characters/],
    ['environment', 'prod\nstaging', 'prod\nstaging', /environment "prod\\nstaging" contains a control character/],
    ['environment', 42, '42', /environment "42" must be a string/],
    ['production', 'yes', 'yes', /production must be true or false, got "yes"/],
  ])('%s = %j is refused, naming the field and the value', (field, value, shown, message) => {
    const errors = errorsOf(registration({ [field]: value }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'REGISTRY_INVALID', field });
    expect(errors[0]?.message).toMatch(message);
    expect(errors[0]?.value).toEqual(shown);
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
      const v = validateRegistration(registration({ kubeconfig: withFiles, allowExec: true }));
      expect(v.ok).toBe(true);
      const warnings = v.ok ? v.warnings.join('\n') : '';
      expect(warnings).toMatch(/certificate-authority from a local file/);
      expect(warnings).toMatch(/runs the exec plugin "aws"; it must exist where the apply function runs/);
    });
  });

  describe('weakened TLS (refused unless allowInsecure, stored when given)', () => {
    const insecure = KUBECONFIG.replace('certificate-authority-data: TUlJQ0FBQUFBQUFB', 'insecure-skip-tls-verify: true');
    const plainHttp = KUBECONFIG.replace('server: https://127.0.0.1:6443', 'server: http://127.0.0.1:8080');

    it.each([
      ['insecure-skip-tls-verify', insecure, /cluster "mycluster" sets insecure-skip-tls-verify.*--allow-insecure/],
      ['an http:// server', plainHttp, /cluster "mycluster" has a http:\/\/ server: the credentials would travel unencrypted.*--allow-insecure/],
      ['a server without a scheme', KUBECONFIG.replace('server: https://127.0.0.1:6443', 'server: 127.0.0.1:6443'), /server URL without https:\/\//],
    ])('%s is refused', (_label, kubeconfig, message) => {
      const errors = errorsOf(registration({ kubeconfig }));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: 'REGISTRY_INVALID', field: 'kubeconfig' });
      expect(errors[0]?.message).toMatch(message);
    });

    it('only the chosen context counts: another context\'s insecure cluster does not block', () => {
      const other = KUBECONFIG.replace('server: https://10.0.0.2:6443', 'server: http://10.0.0.2:6443');
      expect(validateRegistration(registration({ kubeconfig: other })).ok).toBe(true);
      expect(errorsOf(registration({ kubeconfig: other, context: 'other' }))[0]?.message).toMatch(/cluster "other" has a http:\/\/ server/);
    });

    it('is accepted with allowInsecure, which the registration then records', () => {
      for (const kubeconfig of [insecure, plainHttp]) {
        const v = validateRegistration(registration({ kubeconfig, allowInsecure: true }));
        expect(v.ok && v.registration.allowInsecure).toBe(true);
      }
      const plain = validateRegistration(registration());
      expect(plain.ok && plain.registration).not.toHaveProperty('allowInsecure');
    });
  });

  describe('exec plugins (refused unless allowExec, then only commands on the allowlist)', () => {
    const exec = (command: string, extra = '') => KUBECONFIG.replace(`token: ${KUBE_TOKEN}`, `exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ${JSON.stringify(command)}${extra}}`);

    it('any exec plugin is refused without allowExec, naming the flag', () => {
      const errors = errorsOf(registration({ kubeconfig: exec('aws') }));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ field: 'kubeconfig', value: 'aws' });
      expect(errors[0]?.message).toMatch(/user "admin" runs the exec plugin "aws", and running commands is not allowed.*--allow-exec/);
    });

    it('with allowExec: the default allowlist (aws, gke-gcloud-auth-plugin, kubelogin), by exact name', () => {
      for (const command of ['aws', 'gke-gcloud-auth-plugin', 'kubelogin']) {
        const v = validateRegistration(registration({ kubeconfig: exec(command), allowExec: true }));
        expect(v.ok, command).toBe(true);
        expect(v.ok && v.registration).toMatchObject({ allowExec: true });
        expect(v.ok && v.registration).not.toHaveProperty('execAllow');
      }
      for (const command of ['bash', '/tmp/aws', '/usr/local/bin/aws', './aws', 'bin/aws', 'aws;id', 'AWS']) {
        const errors = errorsOf(registration({ kubeconfig: exec(command), allowExec: true }));
        expect(errors[0]?.message, command).toContain(`runs the exec plugin ${JSON.stringify(command)}, which is not on the allowlist (aws, gke-gcloud-auth-plugin, kubelogin)`);
        expect(errors[0]?.message, command).toContain('--exec-allow');
      }
    });

    it('execAllow replaces the list; a full path is allowed only when that exact path is listed', () => {
      const v = validateRegistration(registration({ kubeconfig: exec('/opt/aws/bin/aws'), allowExec: true, execAllow: ['/opt/aws/bin/aws', 'kubelogin'] }));
      expect(v.ok && v.registration).toMatchObject({ allowExec: true, execAllow: ['/opt/aws/bin/aws', 'kubelogin'] });
      expect(validateRegistration(registration({ kubeconfig: exec('aws'), allowExec: true, execAllow: ['/opt/aws/bin/aws'] })).ok).toBe(false);
      expect(validateRegistration(registration({ kubeconfig: exec('/tmp/aws'), allowExec: true, execAllow: ['aws'] })).ok).toBe(false);
    });

    it.each([
      [{ execAllow: ['aws'] }, /execAllow \(--exec-allow\) needs allowExec \(--allow-exec\)/],
      [{ allowExec: true, execAllow: [] }, /must name at least one command/],
      [{ allowExec: true, execAllow: ['../aws'] }, /execAllow entry "\.\.\/aws" must be a command name/],
      [{ allowExec: true, execAllow: ['/usr/../tmp/aws'] }, /without "\." or "\.\." segments/],
      [{ allowExec: true, execAllow: ['a b'] }, /execAllow entry "a b"/],
      [{ allowExec: true, execAllow: 'aws' }, /execAllow must be a list/],
    ])('execAllow %j is refused', (flags, message) => {
      const errors = errorsOf(registration(flags));
      expect(errors.some((e) => e.field === 'execAllow' && message.test(e.message)), JSON.stringify(errors)).toBe(true);
    });

    it('an allowed plugin may not set PATH, LD_PRELOAD or the like (they choose what really runs)', () => {
      const withEnv = exec('aws', ', env: [{name: AWS_PROFILE, value: prod}, {name: PATH, value: /tmp}, {name: LD_PRELOAD, value: /tmp/x.so}]');
      const errors = errorsOf(registration({ kubeconfig: withEnv, allowExec: true }));
      expect(errors[0]?.message).toMatch(/sets PATH, LD_PRELOAD, which would change what program or code runs/);
      expect(validateRegistration(registration({ kubeconfig: exec('aws', ', env: [{name: AWS_PROFILE, value: prod}]'), allowExec: true })).ok).toBe(true);
    });

    it('an auth-provider that runs a command is held to the same rules; one with cmd-path (a shell line) always refused', () => {
      const providerExec = KUBECONFIG.replace(`token: ${KUBE_TOKEN}`, 'auth-provider: {name: exec, config: {exec: {command: bash}}}');
      expect(errorsOf(registration({ kubeconfig: providerExec }))[0]?.message).toMatch(/runs the exec plugin "bash"/);
      const gcp = KUBECONFIG.replace(`token: ${KUBE_TOKEN}`, 'auth-provider: {name: gcp, config: {cmd-path: /usr/bin/gcloud, cmd-args: config config-helper}}');
      expect(errorsOf(registration({ kubeconfig: gcp, allowExec: true }))[0]?.message).toMatch(/auth-provider with cmd-path, which runs through a shell/);
    });
  });

  it('plans: absent = on (not stored); false is stored; anything else is refused', () => {
    const on = validateRegistration(registration());
    expect(on.ok && on.registration).not.toHaveProperty('plans');
    const off = validateRegistration(registration({ plans: false }));
    expect(off.ok && off.registration.plans).toBe(false);
    expect(errorsOf(registration({ plans: 'no' }))[0]).toMatchObject({ field: 'plans', value: 'no', message: 'plans must be true or false, got "no"' });
    expect(errorsOf(registration({ allowInsecure: 1 }))[0]).toMatchObject({ field: 'allowInsecure' });
  });
});
