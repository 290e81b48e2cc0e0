/**
 * Credentials for private Helm chart repositories (issue #12 §4), in the same SecretStore as
 * the clusters and the GitHub credentials, never in the policy repository:
 *
 *   helm/repos   JSON array of {url, username, password}, one per chart repository URL
 *
 *   getHelmRepos(store)              → HelmRepoCredential[] ([] when none is stored); every password
 *                                      registered with the logger, so it is masked wherever it appears
 *   setHelmRepo(store, {url, …})     → FieldError[] (added, or replaced for the same URL)
 *   removeHelmRepo(store, url)       → whether one was removed
 *   listHelmRepos(store)             → the URLs and user names, never a password
 *
 * One secret for all repositories: the sync and apply functions read it with one call when a
 * sync directory renders a chart, and its IAM grant is one ARN.
 */
import { registerSecret } from '../log.ts';
import { SecretNames, type SecretStore } from './secret-store.ts';
import { RegistryCodes, RegistryError, type FieldError } from './types.ts';

export interface HelmRepoCredential {
  /** https://… (a chart repository) or oci://… (a registry); a chart's `repo` matches it by prefix. */
  readonly url: string;
  readonly username: string;
  readonly password: string;
}

export const HELM_REPOS_SECRET = SecretNames.helmRepos;

export async function getHelmRepos(store: SecretStore): Promise<HelmRepoCredential[]> {
  const text = await store.get(HELM_REPOS_SECRET);
  if (text === undefined) return [];
  const repos = parse(text);
  for (const r of repos) registerSecret(r.password);
  return repos;
}

export async function listHelmRepos(store: SecretStore): Promise<{ readonly url: string; readonly username: string }[]> {
  return (await getHelmRepos(store)).map(({ url, username }) => ({ url, username }));
}

export async function setHelmRepo(store: SecretStore, input: { readonly url: string; readonly username: string; readonly password: string }): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const url = normalizeRepoUrl(input.url);
  const urlProblem = repoUrlProblem(url);
  if (urlProblem !== undefined) errors.push({ ...invalid('url', urlProblem), value: input.url.slice(0, 200) });
  const username = input.username.trim();
  if (username === '' || /[\s:]/.test(username)) errors.push(invalid('username', 'give the user name without spaces or ":" (for a token-only registry, the name it documents, e.g. "oauth2accesstoken")'));
  // One line: a trailing newline from `echo` or a file is not part of the password.
  const password = input.password.replace(/\r?\n$/, '');
  if (password === '' || /[\r\n]/.test(password)) errors.push(invalid('password', password === '' ? 'the password is empty' : 'the password has more than one line; give exactly one'));
  if (errors.length > 0) return errors;
  const others = (await getHelmRepos(store)).filter((r) => r.url !== url);
  const all = [...others, { url, username, password }].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  await store.put(HELM_REPOS_SECRET, JSON.stringify(all));
  return [];
}

export async function removeHelmRepo(store: SecretStore, url: string): Promise<boolean> {
  const wanted = normalizeRepoUrl(url);
  const repos = await getHelmRepos(store);
  const kept = repos.filter((r) => r.url !== wanted);
  if (kept.length === repos.length) return false;
  if (kept.length === 0) await store.delete(HELM_REPOS_SECRET);
  else await store.put(HELM_REPOS_SECRET, JSON.stringify(kept));
  return true;
}

/** Without a trailing slash: `https://charts.example.com/` and `…com` are one repository. */
export function normalizeRepoUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

function repoUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL: give the chart repository as written in helmCharts[].repo (https://… or oci://…)';
  }
  if (!['https:', 'http:', 'oci:'].includes(u.protocol)) return `${u.protocol} is not a chart repository scheme: use https://… or oci://…`;
  if (u.username !== '' || u.password !== '') return 'put the user name and password in --username and stdin, not in the URL';
  if (u.search !== '' || u.hash !== '') return 'the URL has a query or fragment; give the repository URL only';
  return undefined;
}

function parse(text: string): HelmRepoCredential[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const ok = (r: unknown): r is HelmRepoCredential => {
    const o = r as Record<string, unknown> | null;
    return typeof o === 'object' && o !== null && typeof o.url === 'string' && typeof o.username === 'string' && typeof o.password === 'string';
  };
  if (!Array.isArray(raw) || !raw.every(ok)) {
    throw new RegistryError(RegistryCodes.corrupt, `${HELM_REPOS_SECRET} is not a JSON array of {url, username, password}; set each again with \`pushsync secrets set helm-repo\``);
  }
  return raw.map((r) => ({ url: normalizeRepoUrl(r.url), username: r.username, password: r.password }));
}

function invalid(field: string, message: string): FieldError {
  return { code: RegistryCodes.invalidSecret, field, message };
}
