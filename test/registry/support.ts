/** Kubeconfigs for registry tests: structure only, nothing here connects. */
export const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
  - name: mycluster
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: TUlJQ0FBQUFBQUFB
  - name: other
    cluster:
      server: https://10.0.0.2:6443
users:
  - name: admin
    user:
      token: kube-token-0123456789abcdef
contexts:
  - name: mycluster
    context:
      cluster: mycluster
      user: admin
  - name: other
    context:
      cluster: other
      user: admin
current-context: mycluster
`;

export const KUBE_TOKEN = 'kube-token-0123456789abcdef';

export function registration(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'mycluster', kubeconfig: KUBECONFIG, repo: 'acme/policy', branch: 'main', dir: 'policy', ...overrides };
}
