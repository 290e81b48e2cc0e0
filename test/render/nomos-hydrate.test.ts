/**
 * Agreement with the reference on rendered repos (issue 12, acceptance 5): the real CLI,
 * `pushsync hydrate --source-format unstructured`, on the kustomize/Helm fixture repos writes
 * what `nomos hydrate` wrote (test/fixtures/expected/render-<case>/, produced by the commands in
 * test/fixtures/expected/README.md), object by object, in the same layout. nomos is never run here.
 *
 * Deliberate differences, each applied to nomos' objects before comparing (and nothing else):
 *
 * 1. ORIGIN: nomos (pkg/kmetrics/exec.go, RunKustomizeBuild) adds `buildMetadata:
 *    [originAnnotations]` to the kustomization for the build and leaves kustomize's
 *    `config.kubernetes.io/origin` annotation on every object (Config Sync's reconciler applies it
 *    too). pushsync asks for the same annotations, to point vet errors at the source file and
 *    line, but removes the ones it asked for: they describe the repo's layout, not the object, and
 *    the author did not write them (lib/render/origin.ts). When the author asks for them
 *    (`prod-own-origin`), pushsync keeps them and the files are byte-identical to nomos'.
 * 2. FLAT ORDER: with `--flat`, nomos lists the objects in the order its parser and validation
 *    pipeline hand them over (kustomize's output read back from a temp dir); pushsync lists them
 *    by the source file each object's origin names, as for a plain repo. The file is applied as a
 *    set (`kubectl apply -f`), so the flat file is compared as a set of objects, and in bytes per
 *    object.
 * 3. OUTSIDE GIT (input layout, not output): nomos reads whatever the kustomization names
 *    (LoadRestrictionsNone). pushsync confines a kustomization to the repository, the git work tree
 *    holding the dir; outside git the dir alone, where `../../base` is refused. So the scratch
 *    copy is made a git work tree, as a real sync directory is: nomos ran on the same layout
 *    without git (README).
 *
 * Everything else agrees exactly: the file set (kind_name, namespace dirs), the `default`
 * namespace given to namespaced objects without one, name prefixes, generated name hashes,
 * replicas, image tags, Helm chart output, and the YAML bytes once ORIGIN is accounted for.
 */
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { load } from 'js-yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'pushsync.js');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const RENDER = path.join(FIXTURES, 'render');
const ORIGIN = 'config.kubernetes.io/origin';

interface Case {
  readonly name: string;
  /** The sync directory, relative to the scratch repository. */
  readonly dir: string;
  /** The author's kustomization asks for origin annotations itself: no ORIGIN difference. */
  readonly ownOrigin: boolean;
}

const cases: readonly Case[] = [
  { name: 'dev', dir: 'boutique/overlays/dev', ownOrigin: false },
  { name: 'prod', dir: 'boutique/overlays/prod', ownOrigin: false },
  { name: 'prod-own-origin', dir: 'boutique/overlays/prod-own-origin', ownOrigin: true },
  { name: 'helm-local', dir: 'helm-local', ownOrigin: false },
];

const scratch = mkdtempSync(path.join(tmpdir(), 'pushsync-nomos-render-'));
const repo = path.join(scratch, 'repo');

/** The layout nomos rendered (README: same steps), plus `git init` (difference 3). */
beforeAll(() => {
  mkdirSync(repo);
  cpSync(path.join(RENDER, 'boutique'), path.join(repo, 'boutique'), { recursive: true });
  cpSync(path.join(RENDER, 'helm-local'), path.join(repo, 'helm-local'), { recursive: true });
  cpSync(path.join(RENDER, 'charts', 'shop'), path.join(repo, 'helm-local', 'charts', 'shop'), { recursive: true });
  cpSync(path.join(repo, 'boutique', 'overlays', 'prod'), path.join(repo, 'boutique', 'overlays', 'prod-own-origin'), { recursive: true });
  appendFileSync(path.join(repo, 'boutique', 'overlays', 'prod-own-origin', 'kustomization.yaml'), 'buildMetadata: [originAnnotations]\n');
  execFileSync('git', ['init', '-q', repo]);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function pushsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, PUSHSYNC_DEBUG: '' }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

function readTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(root, p).split(path.sep).join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(root);
  return out;
}

type Obj = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> } };

/** The documents of a hydrate YAML file, each with its own text (`---\n…`). */
function documents(yaml: string): { obj: Obj; text: string }[] {
  return yaml
    .split(/^(?=---$)/m)
    .filter((text) => text.trim() !== '')
    .map((text) => ({ obj: load(text) as Obj, text }));
}

/** Difference 1 applied to one of nomos' objects. */
function withoutNomosOrigin(obj: Obj): Obj {
  const copy = structuredClone(obj);
  const ann = copy.metadata.annotations;
  if (ann !== undefined) {
    delete ann[ORIGIN];
    if (Object.keys(ann).length === 0) delete copy.metadata.annotations;
  }
  return copy;
}

/**
 * Difference 1 on nomos' text: its YAML writer prints the annotation as a block scalar under
 * `metadata.annotations`; without it (and an annotations map left empty) the bytes must be pushsync's.
 */
function withoutNomosOriginText(yaml: string): string {
  const lines = yaml.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === `    ${ORIGIN}: |`) {
      while (i + 1 < lines.length && (lines[i + 1] as string).startsWith('      ')) i++;
      continue;
    }
    out.push(line);
  }
  return out.filter((l, i) => !(l === '  annotations:' && !(out[i + 1] ?? '').startsWith('    '))).join('\n');
}

const key = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe('pushsync hydrate = nomos hydrate on rendered repos', () => {
  for (const c of cases) {
    const expected = path.join(FIXTURES, 'expected', `render-${c.name}`);

    it(`${c.name}: same files, same objects, same bytes${c.ownOrigin ? '' : ' (origin annotations aside)'}`, async () => {
      const out = path.join(scratch, `out-${c.name}`);
      const r = await pushsync(['hydrate', '--source-format', 'unstructured', path.join(repo, c.dir), '--output', out]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const ours = readTree(out);
      const theirs = readTree(path.join(expected, 'nomos-hydrate'));
      expect(theirs.size).toBeGreaterThan(0);
      expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
      for (const [file, text] of theirs) {
        const mine = ours.get(file) ?? '';
        const nomosObjs = documents(text).map((d) => d.obj);
        // The recorded output really carries the difference this test accounts for.
        for (const o of nomosObjs) expect(o.metadata.annotations?.[ORIGIN], `${file}: nomos' origin`).toBeTruthy();
        const expectedObjs = c.ownOrigin ? nomosObjs : nomosObjs.map(withoutNomosOrigin);
        expect(documents(mine).map((d) => d.obj), file).toEqual(expectedObjs);
        if (c.ownOrigin) expect(mine, file).toBe(text);
        else expect(mine, file).toBe(withoutNomosOriginText(text));
      }
    });

    it(`${c.name} --flat: the same set of objects, each in the same bytes${c.ownOrigin ? '' : ' (origin annotations aside)'}`, async () => {
      const file = path.join(scratch, `flat-${c.name}.yaml`);
      const r = await pushsync(['hydrate', '--source-format', 'unstructured', path.join(repo, c.dir), '--flat', '--output', file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const bySet = (docs: { obj: Obj; text: string }[]) => [...docs].sort((a, b) => (key(a.obj) < key(b.obj) ? -1 : key(a.obj) > key(b.obj) ? 1 : 0));
      const ours = bySet(documents(readFileSync(file, 'utf8')));
      const theirs = bySet(documents(readFileSync(path.join(expected, 'nomos-hydrate-flat.yaml'), 'utf8')));
      expect(theirs.length).toBeGreaterThan(0);
      expect(ours.map((d) => key(d.obj))).toEqual(theirs.map((d) => key(d.obj)));
      ours.forEach((d, i) => {
        const t = theirs[i];
        if (t === undefined) throw new Error('unreachable: same keys');
        expect(d.obj, key(d.obj)).toEqual(c.ownOrigin ? t.obj : withoutNomosOrigin(t.obj));
        expect(d.text, key(d.obj)).toBe(c.ownOrigin ? t.text : withoutNomosOriginText(t.text));
      });
    });
  }

  it('the variants differ where the overlays say (the comparison is not vacuous)', () => {
    const frontend = (name: string, file: string) => documents(readFileSync(path.join(FIXTURES, 'expected', `render-${name}`, 'nomos-hydrate', 'default', file), 'utf8'))[0]?.obj as unknown as { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } };
    expect(frontend('dev', 'deployment_frontend.yaml').spec.replicas).toBe(1);
    expect(frontend('dev', 'deployment_frontend.yaml').spec.template.spec.containers[0]?.image).toMatch(/frontend:v0\.2\.0-dev$/);
    expect(frontend('prod', 'deployment_prod-frontend.yaml').spec.replicas).toBe(3);
    expect(frontend('prod', 'deployment_prod-frontend.yaml').spec.template.spec.containers[0]?.image).toMatch(/frontend:v0\.3\.0$/);
  });
});
