/**
 * scripts/lib/cached-build.sh: the cache discipline of ensure-apiserver.sh and
 * ensure-workloads.sh. Their real builds take a quarter hour and run only on a machine with
 * nothing cached, so the build path is exercised here with a build that writes two scripts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const LIB = path.join(import.meta.dirname, '../../scripts/lib/cached-build.sh');
const ROOT = path.join(import.meta.dirname, '../..');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pushsync-cached-build-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** One call of cached_build in a fresh bash, as a script makes it; `fails` makes the build fail half-way. */
function run(options: { stamp: string; noBuild?: boolean; fails?: boolean; override?: string }) {
  const script = `
set -euo pipefail
main() {
  . "$LIB"
  say() { printf 't: %s\\n' "$*" >&2; }
  fail() { say "ERROR: $*"; exit 1; }
  bins=(a b); override="\${OVERRIDE:-}"; override_name=OVERRIDE; stamp="$STAMP"; cache_dir="$DIR/cache"
  no_build="$NO_BUILD"; no_build_hint="run the build once"
  build_into() {
    echo built >> "$DIR/builds"
    printf '#!/bin/sh\\n' > "$1/a"; chmod +x "$1/a"
    [ "$FAILS" = false ] || fail "the compiler broke"
    printf '#!/bin/sh\\n' > "$1/b"; chmod +x "$1/b"
  }
  cached_build
}
main`;
  const r = spawnSync('bash', ['-c', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', LIB, DIR: dir, STAMP: options.stamp, NO_BUILD: String(options.noBuild ?? false), FAILS: String(options.fails ?? false), OVERRIDE: options.override ?? '' },
  });
  return { code: r.status, out: r.stdout.trim().split('\n').at(-1) ?? '', err: r.stderr };
}
const builds = (): number => {
  try {
    return readFileSync(path.join(dir, 'builds'), 'utf8').trim().split('\n').length;
  } catch {
    return 0;
  }
};
const leftovers = (): string[] => readdirSync(dir).filter((f) => f.startsWith('.build.') || f.startsWith('.old.'));

describe('cached_build', () => {
  it('--no-build finds nothing: exit 1 with the script\'s hint, nothing built', () => {
    const r = run({ stamp: 's1', noBuild: true });
    expect(r.code).toBe(1);
    expect(r.err).toContain('no current build of a b in');
    expect(r.err).toContain('run the build once');
    expect(builds()).toBe(0);
  });

  it('builds once into the cache, stamped with the recipe, and reuses it; a new recipe builds again', () => {
    expect(run({ stamp: 's1' })).toMatchObject({ code: 0, out: path.join(dir, 'cache') });
    expect(readFileSync(path.join(dir, 'cache/recipe.sha256'), 'utf8').trim()).toBe('s1');
    expect(run({ stamp: 's1', noBuild: true })).toMatchObject({ code: 0, out: path.join(dir, 'cache') });
    expect(run({ stamp: 's1' }).code).toBe(0);
    expect(builds()).toBe(1);
    expect(run({ stamp: 's2' }).code).toBe(0);
    expect(builds()).toBe(2);
    expect(readFileSync(path.join(dir, 'cache/recipe.sha256'), 'utf8').trim()).toBe('s2');
    expect(leftovers()).toEqual([]);
  });

  it('a build that fails half-way leaves the old cache as it was and no half-filled directory', () => {
    expect(run({ stamp: 's1' }).code).toBe(0);
    const r = run({ stamp: 's2', fails: true });
    expect(r.code).toBe(1);
    expect(r.err).toContain('the compiler broke');
    expect(readFileSync(path.join(dir, 'cache/recipe.sha256'), 'utf8').trim()).toBe('s1');
    expect(leftovers()).toEqual([]);
  });

  it('a directory the user points at is used as it is when it holds every binary, and said so when it does not', () => {
    expect(run({ stamp: 's1' }).code).toBe(0);
    expect(run({ stamp: 's9', override: path.join(dir, 'cache'), noBuild: true })).toMatchObject({ code: 0, out: path.join(dir, 'cache') });
    const r = run({ stamp: 's1', override: dir, noBuild: true });
    expect(r.err).toContain(`OVERRIDE=${dir} lacks one of a b`);
    expect(r).toMatchObject({ code: 0, out: path.join(dir, 'cache') });
  });
});

describe('the recipe helpers', () => {
  const helper = (call: string): string =>
    spawnSync('bash', ['-c', `. "${LIB}"; ${call}`], { encoding: 'utf8', cwd: ROOT }).stdout;

  it('module_version reads the versions the checked-in recipes pin', () => {
    expect(helper('module_version test/apiserver/go.mod k8s.io/kubernetes')).toMatch(/^v1\.\d+\.\d+\n$/);
    expect(helper('module_version test/workloads/kwok/go.mod sigs.k8s.io/kwok')).toMatch(/^v0\.\d+\.\d+\n$/);
    expect(helper('module_version test/apiserver/go.mod k8s.io/nothing')).toBe('');
  });

  it('k8s_ldflags stamps the release the way kubernetes\' own build does', () => {
    expect(helper('k8s_ldflags v1.37.2')).toBe(
      '-s -w -X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean' +
        ' -X k8s.io/client-go/pkg/version.gitVersion=v1.37.2 -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=37 -X k8s.io/client-go/pkg/version.gitTreeState=clean',
    );
  });
});
