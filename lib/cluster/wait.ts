/**
 * Wait until a CustomResourceDefinition is Established, so its custom resources can be
 * applied. The only wait in the apply: nothing else is waited for (there may be no
 * controllers at all, e.g. Deployments on a bare API server never become ready).
 */
import type { ObjectClient } from './client.ts';
import type { Mapping } from './discovery.ts';
import { ClusterError, Codes } from './errors.ts';
import { sleep } from './retry.ts';

const CRD_MAPPING: Mapping = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  resource: 'customresourcedefinitions',
  namespaced: false,
};

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

export async function waitEstablished(client: ObjectClient, name: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  let last = 'not found';
  for (;;) {
    signal?.throwIfAborted();
    const crd = await client.get(CRD_MAPPING, undefined, name);
    const conditions = ((crd?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []) as Condition[];
    const established = conditions.find((c) => c.type === 'Established');
    if (established?.status === 'True') return;
    const names = conditions.find((c) => c.type === 'NamesAccepted');
    if (names?.status === 'False') {
      throw new ClusterError(Codes.applier, `CustomResourceDefinition ${name}: names not accepted: ${names.message ?? names.reason ?? ''}`);
    }
    last = established ? `${established.reason ?? ''} ${established.message ?? ''}`.trim() : crd ? 'no Established condition yet' : 'not found';
    if (Date.now() >= deadline) {
      throw new ClusterError(Codes.applier, `CustomResourceDefinition ${name} not Established within ${Math.round(timeoutMs / 1000)}s (${last})`, true);
    }
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), signal);
    delay = Math.min(delay * 2, 1000);
  }
}
