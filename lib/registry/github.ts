/**
 * The GitHub credentials and the webhook secret(s), in the same SecretStore as the clusters.
 *
 *   github/token           the token text
 *   github/app             JSON {appId, privateKey}
 *   github/webhook-secret  JSON array of secrets, current first (the rest still accepted: rotation)
 *
 * Every value read is registered with the logger, so it is masked wherever it might appear.
 */
import { registerSecret } from '../log.ts';
import { SecretNames } from './secret-store.ts';
import type { SecretStore } from './secret-store.ts';
import { RegistryCodes, RegistryError } from './types.ts';
import type { FieldError } from './types.ts';

export interface GitHubAppCredentials {
  readonly appId: string;
  /** PEM text of the App's private key. */
  readonly privateKey: string;
}

export type GitHubCredentials =
  | { readonly kind: 'app'; readonly appId: string; readonly privateKey: string }
  | { readonly kind: 'token'; readonly token: string };

/** The App when both are stored: only an App can create check runs. */
export async function getGitHubCredentials(store: SecretStore): Promise<GitHubCredentials | undefined> {
  const app = await store.get(SecretNames.githubApp);
  if (app !== undefined) {
    const parsed = parseApp(app);
    registerSecret(parsed.privateKey);
    return { kind: 'app', ...parsed };
  }
  const token = await store.get(SecretNames.githubToken);
  if (token !== undefined && token.trim() !== '') {
    registerSecret(token.trim());
    return { kind: 'token', token: token.trim() };
  }
  return undefined;
}

export async function setGitHubToken(store: SecretStore, token: string): Promise<FieldError[]> {
  const t = token.trim();
  if (t === '') return [invalid('token', 'the token is empty')];
  if (/\s/.test(t)) return [invalid('token', 'the token contains whitespace; give exactly one token')];
  await store.put(SecretNames.githubToken, t);
  return [];
}

export async function setGitHubApp(store: SecretStore, app: { readonly appId: string; readonly privateKey: string }): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const appId = app.appId.trim();
  if (!/^[1-9][0-9]*$/.test(appId)) errors.push({ ...invalid('appId', 'the App ID must be a positive integer (GitHub → Settings → Developer settings → your App → App ID)'), value: appId.slice(0, 40) });
  const privateKey = app.privateKey.trim();
  if (!/^-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+-----END (RSA )?PRIVATE KEY-----$/.test(privateKey)) {
    errors.push(invalid('privateKey', 'the private key is not a PEM private key (the .pem file GitHub generated for the App)'));
  }
  if (errors.length > 0) return errors;
  await store.put(SecretNames.githubApp, JSON.stringify({ appId, privateKey: `${privateKey}\n` }));
  return [];
}

/** Current secret first; [] when none is stored. */
export async function getWebhookSecrets(store: SecretStore): Promise<string[]> {
  const text = await store.get(SecretNames.webhookSecret);
  if (text === undefined) return [];
  const secrets = parseWebhookSecrets(text);
  for (const s of secrets) registerSecret(s);
  return secrets;
}

/**
 * Store `secrets` (current first). With `keepPrevious`, the secrets already stored stay
 * accepted after the new ones: the first step of a rotation.
 */
export async function setWebhookSecrets(store: SecretStore, secrets: readonly string[], options: { readonly keepPrevious?: boolean } = {}): Promise<FieldError[]> {
  const fresh = secrets.map((s) => s.trim()).filter((s) => s !== '');
  if (fresh.length === 0) return [invalid('webhookSecret', 'no secret given')];
  const previous = options.keepPrevious === true ? await getWebhookSecrets(store) : [];
  const all = [...new Set([...fresh, ...previous])];
  await store.put(SecretNames.webhookSecret, JSON.stringify(all));
  return [];
}

function parseWebhookSecrets(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(trimmed);
    } catch {
      throw new RegistryError(RegistryCodes.corrupt, `${SecretNames.webhookSecret} is not a JSON array of strings; set it again with \`pushsync secrets set webhook-secret\``);
    }
    if (!Array.isArray(list) || !list.every((s): s is string => typeof s === 'string')) {
      throw new RegistryError(RegistryCodes.corrupt, `${SecretNames.webhookSecret} is not a JSON array of strings; set it again with \`pushsync secrets set webhook-secret\``);
    }
    return list.filter((s) => s !== '');
  }
  // A hand-written file with one plain secret.
  return trimmed === '' ? [] : [trimmed];
}

function parseApp(text: string): GitHubAppCredentials {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const r = raw as { appId?: unknown; privateKey?: unknown } | undefined;
  const appId = typeof r?.appId === 'number' ? String(r.appId) : r?.appId;
  if (typeof appId !== 'string' || typeof r?.privateKey !== 'string') {
    throw new RegistryError(RegistryCodes.corrupt, `${SecretNames.githubApp} is not JSON {appId, privateKey}; set it again with \`pushsync secrets set github-app\``);
  }
  return { appId, privateKey: r.privateKey };
}

function invalid(field: string, message: string): FieldError {
  return { code: RegistryCodes.invalidSecret, field, message };
}

export interface WebhookSecretCache {
  /** The secrets, read from the store at most once per `ttlMs`. */
  get(): Promise<string[]>;
  /**
   * Re-read now unless the last read is younger than `minRefreshMs`; true when the list changed.
   * For a signature that does not verify: the secret may just have been rotated.
   */
  refresh(): Promise<boolean>;
}

/** Per warm container: the webhook secrets without a store read per request. */
export function webhookSecretCache(
  store: SecretStore,
  options: { readonly ttlMs?: number; readonly minRefreshMs?: number; readonly now?: () => number } = {},
): WebhookSecretCache {
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const minRefreshMs = options.minRefreshMs ?? 30_000;
  const now = options.now ?? Date.now;
  let loaded: { at: number; secrets: Promise<string[]> } | undefined;
  const load = (): Promise<string[]> => {
    const secrets = getWebhookSecrets(store);
    loaded = { at: now(), secrets };
    // A failed read is not cached: the next request tries again.
    secrets.catch(() => {
      if (loaded?.secrets === secrets) loaded = undefined;
    });
    return secrets;
  };
  return {
    get: () => (loaded !== undefined && now() - loaded.at < ttlMs ? loaded.secrets : load()),
    async refresh() {
      if (loaded !== undefined && now() - loaded.at < minRefreshMs) return false;
      const before = loaded === undefined ? undefined : await loaded.secrets.catch(() => undefined);
      const after = await load();
      return before === undefined || before.join('\0') !== after.join('\0');
    },
  };
}
