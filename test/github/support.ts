/** Clients for the GitHub stand-in: fast retries, no write spacing, logs kept for assertions. */
import { ApiCallCounter, createOctokit } from '../../lib/github/index.ts';
import type { CreateOctokitOptions, GitHubLog } from '../../lib/github/index.ts';
import { generateKeyPairSync } from 'node:crypto';
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.ts';

export interface TestClient {
  readonly octokit: ReturnType<typeof createOctokit>;
  readonly counter: ApiCallCounter;
  readonly logs: string[];
}

export function recordingLog(lines: string[]): GitHubLog {
  return {
    debug: () => {},
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

/** A token-authenticated client of `server`; `extra` overrides any option. */
export function tokenClient(server: GitHubServer, extra: Partial<CreateOctokitOptions> = {}): TestClient {
  const counter = new ApiCallCounter();
  const logs: string[] = [];
  const octokit = createOctokit({
    auth: { kind: 'token', token: server.token },
    baseUrl: server.url,
    counter,
    retryBaseDelayMs: 1,
    writeSpacingMs: 0,
    log: recordingLog(logs),
    ...extra,
  });
  return { octokit, counter, logs };
}

export const YAML_NS = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
export const REPO_YAML = 'apiVersion: configmanagement.gke.io/v1\nkind: Repo\nmetadata:\n  name: repo\nspec:\n  version: "1.0.0"\n';

/**
 * The stand-in as a GitHub App installation (contract-checked) and a client of it: check runs
 * and deployments need an App.
 */
export async function appStandIn(app: { readonly appId: number; readonly installationId: number }): Promise<{ server: GitHubServer; octokit: ReturnType<typeof createOctokit> }> {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const server = await startGitHubServer({ contract: true, app: { ...app, publicKey: keys.publicKey } });
  const octokit = createOctokit({
    auth: { kind: 'app', ...app, privateKey: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    baseUrl: server.url,
    retryBaseDelayMs: 1,
    writeSpacingMs: 0,
    log: recordingLog([]),
  });
  return { server, octokit };
}
