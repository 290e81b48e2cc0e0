import { describe, expect, it } from 'vitest';
import type { LiveObject } from '../../lib/cluster/objects.ts';
import { blindSecretBody, isSecret, SECRET_DATA_NOT_COMPARED, secretPlanFields, secretTakeovers } from '../../lib/cluster/secrets.ts';
import type { KubeObject } from '../../lib/repo/index.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const secret = (extra: Partial<KubeObject> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' }, ...extra });
const live = (data: Record<string, string>, extra: Partial<LiveObject> = {}): LiveObject => ({ ...secret(), data, ...extra }) as LiveObject;

describe('isSecret', () => {
  it('is the core Secret only', () => {
    expect(isSecret({ group: '', kind: 'Secret' })).toBe(true);
    expect(isSecret({ group: 'example.com', kind: 'Secret' })).toBe(false);
    expect(isSecret({ group: '', kind: 'ConfigMap' })).toBe(false);
  });
});

describe('blindSecretBody', () => {
  it('sends the live value for every key the live Secret has, from data and stringData alike', () => {
    const body = secret({ data: { a: b64('guess'), new: b64('n') }, stringData: { b: 'guess', fresh: 'f' }, type: 'Opaque' });
    const out = blindSecretBody(body, live({ a: b64('real-a'), b: b64('real-b'), other: b64('o') }));
    expect(out).toEqual(secret({ data: { a: b64('real-a'), new: b64('n'), b: b64('real-b') }, stringData: { fresh: 'f' }, type: 'Opaque' }));
    // The declared object is not changed.
    expect(body.data).toEqual({ a: b64('guess'), new: b64('n') });
  });

  it('the result does not depend on the guessed values of existing keys', () => {
    const existing = live({ password: b64('hunter2') });
    const right = blindSecretBody(secret({ data: { password: b64('hunter2') } }), existing);
    const wrong = blindSecretBody(secret({ data: { password: b64('letmein') } }), existing);
    const wrongString = blindSecretBody(secret({ stringData: { password: 'letmein' } }), existing);
    expect(wrong).toEqual(right);
    expect(wrongString).toEqual(right);
  });

  it('keeps a key named __proto__ as a key', () => {
    const out = blindSecretBody(secret({ data: JSON.parse(`{"__proto__": "${b64('x')}"}`) as Record<string, string> }), live(JSON.parse(`{"__proto__": "${b64('live')}"}`) as Record<string, string>));
    expect(Object.keys(out.data as object)).toEqual(['__proto__']);
    expect(JSON.stringify(out.data)).toBe(`{"__proto__":"${b64('live')}"}`);
  });

  it('without a live Secret the body is the declared one', () => {
    const body = secret({ data: { a: b64('x') }, stringData: { b: 'y' } });
    expect(blindSecretBody(body, undefined)).toEqual(body);
  });
});

describe('secretPlanFields', () => {
  const managed = (fields: object): LiveObject['metadata']['managedFields'] => [{ manager: 'pushsync', operation: 'Apply', fieldsV1: fields }];

  it('a manifest that declares data always reports the one data line, whatever the values', () => {
    const declared = secret({ data: { password: b64('guess') } });
    const before = live({ password: b64('a') });
    expect(secretPlanFields(declared, before, live({ password: b64('a') }), 'pushsync')).toEqual([SECRET_DATA_NOT_COMPARED]);
    expect(secretPlanFields(declared, before, live({ password: b64('b') }), 'pushsync')).toEqual([SECRET_DATA_NOT_COMPARED]);
  });

  it('names metadata and type changes, never a data key', () => {
    const declared = secret({ data: { password: b64('guess') } });
    const before = live({ password: b64('a') });
    const after = live({ password: b64('b'), extra: b64('c') }, { type: 'Opaque', metadata: { name: 's', namespace: 'ns', labels: { team: 'x' } } });
    expect(secretPlanFields(declared, before, after, 'pushsync')).toEqual(['.metadata.labels', '.type', SECRET_DATA_NOT_COMPARED]);
  });

  it('a manifest without data: unchanged when nothing but values could differ; the data line when keys change', () => {
    const declared = secret({ type: 'Opaque' });
    const before = live({ a: b64('1') }, { metadata: { name: 's', namespace: 'ns', managedFields: managed({ 'f:type': {} }) } });
    expect(secretPlanFields(declared, before, before, 'pushsync')).toEqual([]);
    expect(secretPlanFields(declared, before, live({}, { metadata: before.metadata }), 'pushsync')).toEqual([SECRET_DATA_NOT_COMPARED]);
  });
});

describe('secretTakeovers', () => {
  it('drops data and stringData fields, and managers left with none', () => {
    expect(
      secretTakeovers([
        { manager: 'kubectl-edit', fields: ['.data.password', '.metadata.labels.team'] },
        { manager: 'other', fields: ['.stringData.x', '.data'] },
      ]),
    ).toEqual([{ manager: 'kubectl-edit', fields: ['.metadata.labels.team'] }]);
  });
});
