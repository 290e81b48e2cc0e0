/**
 * What may travel in an invocation payload: plain JSON, small, and nothing secret. Checked on
 * every invoke, whatever the backend, so a kubeconfig or a token cannot leak into Lambda's
 * event queue (where it would be stored and visible to anyone who can read it).
 */
import { containsRegisteredSecret, isSensitiveKey } from '../log.ts';
import { FanoutCodes, FanoutError } from './types.ts';
import type { JsonValue } from './types.ts';

/** Lambda's limit for an asynchronous invocation payload. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** The payload as the function will see it (JSON round-tripped), or a FanoutError. */
export function checkPayload(payload: unknown): JsonValue {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (err) {
    throw new FanoutError(FanoutCodes.notSerialisable, `payload is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (text === undefined) throw new FanoutError(FanoutCodes.notSerialisable, `payload of type ${typeof payload} is not JSON-serialisable`);
  const size = Buffer.byteLength(text);
  if (size > MAX_PAYLOAD_BYTES) {
    throw new FanoutError(FanoutCodes.tooLarge, `payload is ${size} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit of an async invocation; pass references, not content`);
  }
  const value = JSON.parse(text) as JsonValue;
  const found = findSecret(value, '$');
  if (found !== undefined) {
    throw new FanoutError(FanoutCodes.secretInPayload, `payload must not carry secrets: ${found}; pass a name the function can look up in the secret store`);
  }
  return value;
}

function findSecret(value: JsonValue, at: string): string | undefined {
  if (typeof value === 'string') return containsRegisteredSecret(value) ? `${at} holds a registered secret value` : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findSecret(value[i] as JsonValue, `${at}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, v] of Object.entries(value as { readonly [key: string]: JsonValue })) {
    const path = `${at}.${key}`;
    if (isSensitiveKey(key)) return `key ${path} looks like a credential`;
    const found = findSecret(v, path);
    if (found !== undefined) return found;
  }
  return undefined;
}
