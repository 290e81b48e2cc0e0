/**
 * Files in the repository that several suites and benches read. Resolved from this module, so
 * they are found wherever the checkout is and whatever the working directory.
 */
import { fileURLToPath } from 'node:url';

/**
 * Online Boutique's 2020 `kubernetes-manifests.yaml` (12 Deployments, 12 Services), as the seed
 * policy repo holds it: the file the reference `nomos` outputs in `test/fixtures/expected/seed/`
 * were produced from.
 */
export const BOUTIQUE_MANIFESTS = fileURLToPath(new URL('../fixtures/repos/seed/namespaces/onlineboutique/kubernetes-manifests.yaml', import.meta.url));
