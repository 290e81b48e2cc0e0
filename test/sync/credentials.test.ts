/**
 * Issue #10 §3.2, end to end: a kubeconfig exec plugin's stderr once went verbatim into
 * `pushsync/<cluster>` ("will retry: plugin stderr: … token=…"). Here a cluster registered with
 * `allowExec` and an allowlist naming a real script runs through sync and the apply handler as
 * deployed, and what reaches GitHub (status and check run) and the logs is checked: the failure
 * is summarised, and neither the plugin's output nor a token it handed over appears anywhere.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXEC_ALLOWLIST_ENV } from '../../lib/cluster/kubeconfig-policy.ts';
import { containsRegisteredSecret } from '../../lib/log.ts';
import { parseApplyJob, toPayload, type PushJob } from '../../lib/jobs.ts';
import { listClusters, registerCluster, removeCluster } from '../../lib/registry/index.ts';
import { handlersFor, runSync } from '../../lib/sync/index.ts';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';
import { NAMESPACE_YAML, OWNER, REPO, REPO_YAML, closedPort, startWorld, type World } from './support.ts';

const SECRET = 's3cr3t-abc123';
const STDERR = `error: token=${SECRET} denied`;
/** What the succeeding plugin hands over: a token the API server does not know. */
const PLUGIN_TOKEN = 'plugin-issued-7f3a9c2e51d84b06';

let world: World;
let cp: ControlPlane;
let dir: string;
let failing: string;
let issuing: string;

beforeAll(async () => {
  [world, cp] = await Promise.all([startWorld(), startControlPlane()]);
  // A short directory name: the plugin's path is quoted in a status of at most 140 characters.
  dir = await mkdtemp(join(tmpdir(), 'ps-'));
  failing = join(dir, 'deny');
  issuing = join(dir, 'issue');
  await writeFile(failing, `#!/bin/sh\necho '${STDERR}' >&2\nexit 1\n`);
  await writeFile(
    issuing,
    `#!/bin/sh\necho '${JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: PLUGIN_TOKEN } })}'\n`,
  );
  await Promise.all([chmod(failing, 0o755), chmod(issuing, 0o755)]);
}, 120_000);
afterAll(async () => {
  await world?.close();
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  expect(world.github.violations).toEqual([]);
  vi.unstubAllEnvs();
  world.invoked.length = 0;
  for (const c of await listClusters(world.store)) await removeCluster(world.store, c.name);
});

/** A kubeconfig whose user is the exec plugin `command`, for the API server at `server`. */
function execKubeconfig(name: string, server: string, command: string): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: ${name}
    cluster:
      server: ${server}
      certificate-authority-data: ${Buffer.from(cp.caPem).toString('base64')}
users:
  - name: ${name}-plugin
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1
        command: ${command}
        interactiveMode: Never
contexts:
  - name: ${name}
    context:
      cluster: ${name}
      user: ${name}-plugin
current-context: ${name}
`;
}

let n = 0;

/**
 * Register `name` (allowExec, allowlist = `command`, under a deployment cap naming it too), push
 * a commit, run the sync job and then the apply handler on what it dispatched, as Lambda would.
 */
async function deliver(name: string, server: string, command: string): Promise<{ sha: string; thrown: unknown; logs: string[]; checkRun: string }> {
  vi.stubEnv(EXEC_ALLOWLIST_ENV, `aws,${command}`);
  const r = await registerCluster(
    world.store,
    { name, kubeconfig: execKubeconfig(name, server, command), repo: `${OWNER}/${REPO}`, branch: 'main', dir: '.', sourceFormat: 'hierarchy', allowExec: true, execAllow: [command], healthTimeout: 0 },
    { replace: true },
  );
  if (!r.ok) throw new Error(`register ${name}: ${JSON.stringify(r.errors)}`);
  const sha = await world.github.git.commit({ 'system/repo.yaml': REPO_YAML, [`namespaces/n${++n}/namespace.yaml`]: NAMESPACE_YAML(`n${n}`) }, { message: name, replace: true });
  const push: PushJob = {
    deliveryId: `cred-${n}`, repo: `${OWNER}/${REPO}`, owner: OWNER, name: REPO, ref: 'refs/heads/main', branch: 'main', after: sha,
    before: '0'.repeat(40), defaultBranch: 'main', pushedAt: new Date().toISOString(), installationId: 7,
  };
  const from = world.logLines.length;
  expect(await runSync(push, world.deps)).toMatchObject({ kind: 'dispatched', clusters: [name] });
  const payload = world.invoked.find((p) => parseApplyJob(p).cluster === name);
  if (payload === undefined) throw new Error(`no apply job for ${name}`);
  const thrown = await handlersFor(world.deps)
    .apply(toPayload(parseApplyJob(payload)), { functionName: 'apply', invocationId: `i-${n}`, attempt: 0, deadline: Date.now() + 120_000 })
    .then(() => undefined, (e: unknown) => e);
  const run = world.checkRuns(sha).find((c) => c.name === `pushsync/${name}`);
  expect(run?.status).toBe('completed');
  return { sha, thrown, logs: world.logLines.slice(from), checkRun: `${run?.conclusion ?? ''}: ${run?.summary ?? ''}` };
}

/** Every text pushsync wrote for the delivery: the statuses' descriptions, the check run, the log lines. */
function everything(sha: string, d: { logs: string[]; checkRun: string }): string {
  return [...world.github.statuses.filter((s) => s.sha === sha).map((s) => s.description ?? ''), d.checkRun, ...d.logs].join('\n');
}

describe('a kubeconfig exec plugin, from the script to the posted status', () => {
  it('a plugin that fails with a token on stderr: "credentials for cluster X failed: exec plugin … exited …", its output withheld everywhere', async () => {
    const d = await deliver('plugged', `https://127.0.0.1:${await closedPort()}`, failing);
    // A credential failure is worth retrying (an identity provider's outage): the handler throws.
    expect(d.thrown).toMatchObject({ retryable: true });
    const status = world.statuses(d.sha)['pushsync/plugged'] ?? '';
    // Fitted to GitHub's 140 characters (start and end kept); the check run has it whole.
    expect(status).toMatch(/^error: will retry: credentials for cluster plugged failed: exec plugin "[^]*with an error \(its output is withheld: it may hold credentials\)$/);
    expect(d.checkRun).toBe(`failure: will retry: credentials for cluster plugged failed: exec plugin ${JSON.stringify(failing)} exited with an error (its output is withheld: it may hold credentials)`);
    const text = everything(d.sha, d);
    expect(d.logs.join('\n')).toMatch(/credentials for cluster plugged failed/);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('denied');
    expect(text).not.toContain('token=');
  });

  it('a plugin that hands over a token the API server refuses (401): the token appears in no status, check run or log line', async () => {
    expect(containsRegisteredSecret(PLUGIN_TOKEN)).toBe(false);
    const d = await deliver('refused', cp.server, issuing);
    // connect masks what the plugin handed over from then on, whatever text would carry it.
    expect(containsRegisteredSecret(PLUGIN_TOKEN)).toBe(true);
    const status = world.statuses(d.sha)['pushsync/refused'] ?? '';
    expect(status).toMatch(/^(error|failure): /);
    expect(`${status}\n${d.checkRun}`).toMatch(/Unauthorized|401/i);
    expect(everything(d.sha, d)).not.toContain(PLUGIN_TOKEN);
  }, 60_000);
});
