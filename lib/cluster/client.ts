/**
 * Object verbs over the raw transport: get, list, server-side apply, JSON patch, delete.
 * Every call is retried on transient failures and honours the run's AbortSignal.
 */
import { setMaxListeners } from 'node:events';
import { ApiError } from './errors.ts';
import type { KubeRequest, KubeResponse, KubeHttp } from './http.ts';
import type { LiveObject } from './objects.ts';
import { defaultRetryOptions, withRetry } from './retry.ts';
import type { RetryOptions } from './retry.ts';
import type { Mapping } from './discovery.ts';

export const FIELD_MANAGER = 'pushsync';

export interface ApplyCallOptions {
  readonly dryRun: boolean;
  readonly force: boolean;
}

export interface ApplyResponse {
  /** 201 when the object was (or would be) created, 200 when it existed. */
  readonly status: number;
  readonly object: LiveObject;
}

/** A field another manager owned and we took (or would take) with force. */
export interface Takeover {
  readonly manager: string;
  readonly fields: readonly string[];
}

export interface ClientOptions {
  readonly retry?: Partial<RetryOptions>;
  readonly signal?: AbortSignal;
  readonly fieldManager?: string;
}

export class ObjectClient {
  readonly http: KubeHttp;
  readonly fieldManager: string;
  private readonly retry: RetryOptions;
  private readonly signal: AbortSignal | undefined;

  constructor(http: KubeHttp, opts: ClientOptions = {}) {
    this.http = http;
    this.fieldManager = opts.fieldManager ?? FIELD_MANAGER;
    this.signal = opts.signal;
    // Every request in flight listens to it: a wave of 32 objects is not a leak.
    if (opts.signal) setMaxListeners(0, opts.signal);
    this.retry = { ...defaultRetryOptions, ...opts.retry, ...(opts.signal ? { signal: opts.signal } : {}) };
  }

  /** The run was cancelled (caller abort or lost lease): nothing more should be attempted. */
  get aborted(): boolean {
    return this.signal?.aborted ?? false;
  }

  /**
   * Same client, another signal (e.g. the run's signal combined with the lease's), or none: the
   * retry options keep no trace of the old one.
   */
  withSignal(signal: AbortSignal | undefined): ObjectClient {
    const { signal: _old, ...retry } = this.retry;
    return new ObjectClient(this.http, { retry, ...(signal ? { signal } : {}), fieldManager: this.fieldManager });
  }

  /** One request with retries; non-2xx answers become ApiError (`what` names the object). */
  async call(what: string, req: Omit<KubeRequest, 'signal'>, accept: readonly number[] = []): Promise<KubeResponse> {
    return withRetry(async () => {
      const res = await this.http.request({ ...req, ...(this.signal ? { signal: this.signal } : {}) });
      if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) return res;
      throw ApiError.from(what, res);
    }, this.retry);
  }

  async get(m: Mapping, namespace: string | undefined, name: string): Promise<LiveObject | undefined> {
    const res = await this.call(describe(m, namespace, name), { method: 'GET', path: objectPath(m, namespace, name) }, [404]);
    return res.status === 404 ? undefined : (res.body as LiveObject);
  }

  /**
   * Every object of one resource matching a label selector, following `continue`: in all
   * namespaces, or only in `namespace` when given (a namespaced resource).
   */
  async list(m: Mapping, labelSelector: string, namespace?: string): Promise<LiveObject[]> {
    const out: LiveObject[] = [];
    let cont: string | undefined;
    do {
      const res = await this.call(`list ${m.resource}.${m.group || 'core'}${namespace && m.namespaced ? ` in ${namespace}` : ''}`, {
        method: 'GET',
        path: objectPath(m, namespace, undefined),
        query: { labelSelector, limit: '500', continue: cont },
      });
      const body = res.body as { items?: LiveObject[]; metadata?: { continue?: string } };
      for (const item of body.items ?? []) {
        // List items carry no apiVersion/kind; fill them so they look like objects.
        out.push({ ...item, apiVersion: m.group ? `${m.group}/${m.version}` : m.version, kind: m.kind });
      }
      cont = body.metadata?.continue || undefined;
    } while (cont);
    return out;
  }

  async apply(m: Mapping, body: LiveObject | object, name: string, namespace: string | undefined, opts: ApplyCallOptions): Promise<ApplyResponse> {
    const res = await this.call(describe(m, namespace, name), {
      method: 'PATCH',
      path: objectPath(m, namespace, name),
      query: {
        fieldManager: this.fieldManager,
        fieldValidation: 'Strict',
        ...(opts.force ? { force: 'true' } : {}),
        ...(opts.dryRun ? { dryRun: 'All' } : {}),
      },
      body,
      contentType: 'application/apply-patch+yaml',
    });
    return { status: res.status, object: res.body as LiveObject };
  }

  /**
   * Apply without force first; when other managers own fields we change, record them and
   * apply again with force (Git wins). The API server's own conflict report is the exact set
   * of fields we take over, so nothing is guessed from managedFields.
   */
  async applyTakingOver(
    m: Mapping,
    body: object,
    name: string,
    namespace: string | undefined,
    dryRun: boolean,
  ): Promise<ApplyResponse & { takeovers: Takeover[] }> {
    try {
      return { ...(await this.apply(m, body, name, namespace, { dryRun, force: false })), takeovers: [] };
    } catch (e) {
      if (!(e instanceof ApiError) || e.fieldConflicts.length === 0) throw e;
      const takeovers = takeoversFrom(e);
      return { ...(await this.apply(m, body, name, namespace, { dryRun, force: true })), takeovers };
    }
  }

  async jsonPatch(m: Mapping, namespace: string | undefined, name: string, ops: readonly object[]): Promise<LiveObject> {
    const res = await this.call(describe(m, namespace, name), {
      method: 'PATCH',
      path: objectPath(m, namespace, name),
      query: { fieldManager: this.fieldManager },
      body: ops,
      contentType: 'application/json-patch+json',
    });
    return res.body as LiveObject;
  }

  /**
   * Delete one object if it is still the one we listed (UID precondition).
   * `gone`: it was not there any more; `replaced`: another object now has its name.
   */
  async delete(m: Mapping, namespace: string | undefined, name: string, uid: string | undefined): Promise<'deleted' | 'gone' | 'replaced'> {
    const res = await this.call(
      describe(m, namespace, name),
      {
        method: 'DELETE',
        path: objectPath(m, namespace, name),
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          propagationPolicy: 'Background',
          ...(uid ? { preconditions: { uid } } : {}),
        },
      },
      [404, 409],
    );
    if (res.status === 404) return 'gone';
    if (res.status === 409) return 'replaced';
    return 'deleted';
  }
}

export function objectPath(m: Mapping, namespace: string | undefined, name: string | undefined): string {
  const base = m.group ? `/apis/${m.group}/${m.version}` : `/api/${m.version}`;
  const ns = m.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${m.resource}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

function describe(m: Mapping, namespace: string | undefined, name: string): string {
  return `${m.group ? `${m.kind}.${m.group}` : m.kind} ${namespace ? `${namespace}/` : ''}${name}`;
}

/** `conflict with "kubectl-edit" using apps/v1` → kubectl-edit; grouped per manager. */
export function takeoversFrom(e: ApiError): Takeover[] {
  const byManager = new Map<string, string[]>();
  for (const c of e.fieldConflicts) {
    const manager = /conflict with "([^"]*)"/.exec(c.message ?? '')?.[1] ?? 'unknown';
    const fields = byManager.get(manager) ?? [];
    if (c.field && !fields.includes(c.field)) fields.push(c.field);
    byManager.set(manager, fields);
  }
  return [...byManager].map(([manager, fields]) => ({ manager, fields: fields.sort() }));
}
