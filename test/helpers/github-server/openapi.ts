/**
 * GitHub's published OpenAPI description (@octokit/openapi) as a contract for the stand-in:
 * which operation a request is (method + path template), and a validator for the JSON Schema
 * subset the description uses (type, nullable, properties, required, additionalProperties,
 * items, enum, allOf/anyOf/oneOf, $ref, min/max length/items, minimum/maximum, date-time/uri).
 *
 * The non-dereferenced file (13 MB) is read, once per process, and `$ref`s are followed lazily:
 * the dereferenced one is 73 MB and slower to parse.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export type Schema = Readonly<Record<string, unknown>>;

export interface OpenApi {
  readonly openapi: string;
  readonly paths: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly components: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export interface Operation {
  readonly method: string;
  /** `/repos/{owner}/{repo}/git/trees/{tree_sha}` */
  readonly template: string;
  readonly operationId: string;
  readonly params: Readonly<Record<string, string>>;
  readonly spec: Readonly<Record<string, unknown>>;
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'];
const SPEC_MODULE = '@octokit/openapi/generated/api.github.com.json';

let loaded: { api: OpenApi; routes: Route[] } | undefined;

interface Route {
  readonly method: string;
  readonly template: string;
  readonly regex: RegExp;
  readonly names: readonly string[];
  readonly literals: number;
  readonly spec: Readonly<Record<string, unknown>>;
}

/** GitHub's OpenAPI description; fails loudly when the package is missing. */
export function loadOpenApi(): OpenApi {
  return load().api;
}

function load(): { api: OpenApi; routes: Route[] } {
  if (loaded) return loaded;
  let file: string;
  try {
    file = createRequire(import.meta.url).resolve(SPEC_MODULE);
  } catch {
    throw new Error(`GitHub's OpenAPI description is missing: install the dev dependency @octokit/openapi (${SPEC_MODULE})`);
  }
  const api = JSON.parse(readFileSync(file, 'utf8')) as OpenApi;
  const routes: Route[] = [];
  for (const [template, item] of Object.entries(api.paths)) {
    const names: string[] = [];
    let literals = 0;
    const pattern = template
      .split('/')
      .map((seg) => {
        const m = /^\{(.+)\}$/.exec(seg);
        if (m?.[1] !== undefined) {
          names.push(m[1]);
          return '([^/]+)';
        }
        if (seg !== '') literals++;
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    for (const method of METHODS) {
      const spec = item[method];
      if (spec !== undefined) routes.push({ method: method.toUpperCase(), template, regex: new RegExp(`^${pattern}$`), names, literals, spec: spec as Record<string, unknown> });
    }
  }
  loaded = { api, routes };
  return loaded;
}

/**
 * The operation a request is, by method and raw (still percent-encoded) path; the template with
 * the most literal segments wins when several match.
 */
export function findOperation(method: string, pathname: string): Operation | undefined {
  let best: Route | undefined;
  let bestMatch: RegExpExecArray | undefined;
  for (const r of load().routes) {
    if (r.method !== method.toUpperCase()) continue;
    const m = r.regex.exec(pathname);
    if (m && (best === undefined || r.literals > best.literals)) {
      best = r;
      bestMatch = m;
    }
  }
  if (best === undefined || bestMatch === undefined) return undefined;
  const params: Record<string, string> = {};
  best.names.forEach((n, i) => (params[n] = decodeURIComponent(bestMatch[i + 1] ?? '')));
  return { method: best.method, template: best.template, operationId: String(best.spec.operationId), params, spec: best.spec };
}

/** Problems with a JSON request body for `op` (empty when it conforms). */
export function validateRequestBody(op: Operation, body: unknown): string[] {
  const rb = deref(op.spec.requestBody as Schema | undefined);
  if (rb === undefined) return [];
  const schema = jsonSchemaOf(rb);
  if (schema === undefined) return [];
  if (body === undefined) return rb.required === true ? ['request body: required'] : [];
  return validate(schema, body, 'request');
}

/** Problems with a response, or undefined when the description has no JSON schema for that status. */
export function validateResponse(op: Operation, status: number, body: unknown): string[] | undefined {
  const responses = op.spec.responses as Record<string, Schema> | undefined;
  const res = deref(responses?.[String(status)]);
  if (res === undefined) return undefined;
  const schema = jsonSchemaOf(res);
  if (schema === undefined) return undefined;
  return validate(schema, body, 'response');
}

/** Whether the description documents `status` for `op` at all. */
export function documentsStatus(op: Operation, status: number): boolean {
  const responses = op.spec.responses as Record<string, unknown> | undefined;
  return responses?.[String(status)] !== undefined;
}

function jsonSchemaOf(x: Schema): Schema | undefined {
  const content = x.content as Record<string, { schema?: Schema }> | undefined;
  return content?.['application/json']?.schema;
}

function deref(x: Schema | undefined): Schema | undefined {
  let cur = x;
  for (let i = 0; cur !== undefined && typeof cur.$ref === 'string' && i < 32; i++) cur = resolvePointer(cur.$ref);
  return cur;
}

function resolvePointer(ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`external $ref not supported: ${ref}`);
  let cur: unknown = load().api;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = (cur as Record<string, unknown> | undefined)?.[key];
  }
  if (cur === undefined) throw new Error(`unresolvable $ref ${ref}`);
  return cur as Schema;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Validate `value` against `schema`; each problem names its JSON path. */
export function validate(schemaIn: Schema, value: unknown, at = '$'): string[] {
  const schema = deref(schemaIn) ?? {};
  const errors: string[] = [];
  if (value === null) {
    if (schema.nullable === true || schema.type === 'null') return [];
    // A null may still satisfy one of the alternatives.
    if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf) || Array.isArray(schema.allOf)) return combinators(schema, value, at);
    if (schema.type === undefined && schema.properties === undefined) return [];
    return [`${at}: null is not allowed`];
  }
  errors.push(...combinators(schema, value, at));
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  const type = schema.type as string | undefined;
  if (type !== undefined && !hasType(type, value)) return [...errors, `${at}: expected ${type}, got ${describeType(value)}`];
  if (typeof value === 'string') {
    if (typeof schema.maxLength === 'number' && [...value].length > schema.maxLength) errors.push(`${at}: longer than ${schema.maxLength} characters`);
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength) errors.push(`${at}: shorter than ${schema.minLength} characters`);
    if (schema.format === 'date-time' && !DATE_TIME.test(value)) errors.push(`${at}: ${JSON.stringify(value)} is not a date-time`);
    // A URI property whose documented default is "" is answered "" when unset (deployment statuses' target_url, log_url).
    if (schema.format === 'uri' && !isUri(value) && !(value === '' && schema.default === '')) errors.push(`${at}: ${JSON.stringify(value)} is not a URI`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${at}: below the minimum ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${at}: above the maximum ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) errors.push(`${at}: more than ${schema.maxItems} items (${value.length})`);
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push(`${at}: fewer than ${schema.minItems} items`);
    if (schema.items !== undefined) value.forEach((v, i) => errors.push(...validate(schema.items as Schema, v, `${at}[${i}]`)));
  } else if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errors.push(`${at}: missing required property "${r}"`);
    for (const [k, v] of Object.entries(obj)) {
      if (v === undefined) continue;
      const p = props[k];
      if (p !== undefined) errors.push(...validate(p, v, `${at}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${at}: unexpected property "${k}"`);
      else if (typeof schema.additionalProperties === 'object' && schema.additionalProperties !== null) {
        errors.push(...validate(schema.additionalProperties as Schema, v, `${at}.${k}`));
      }
    }
  }
  return errors;
}

function combinators(schema: Schema, value: unknown, at: string): string[] {
  const errors: string[] = [];
  if (Array.isArray(schema.allOf)) for (const s of schema.allOf as Schema[]) errors.push(...validate(s, value, at));
  if (Array.isArray(schema.anyOf)) {
    const results = (schema.anyOf as Schema[]).map((s) => validate(s, value, at));
    if (!results.some((r) => r.length === 0)) errors.push(`${at}: matches none of anyOf (${results.map((r) => r[0]).join(' | ')})`);
  }
  if (Array.isArray(schema.oneOf)) {
    const results = (schema.oneOf as Schema[]).map((s) => validate(s, value, at));
    const ok = results.filter((r) => r.length === 0).length;
    if (ok !== 1) errors.push(`${at}: matches ${ok} of oneOf, not exactly 1 (${results.map((r) => r[0] ?? 'ok').join(' | ')})`);
  }
  return errors;
}

function hasType(type: string, v: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'array':
      return Array.isArray(v);
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'null':
      return v === null;
    default:
      return true;
  }
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}

function isUri(s: string): boolean {
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}
