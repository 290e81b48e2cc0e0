/**
 * One case per KNV rule variant (test/fixtures/rules/<case>/): `bad/` must fail with exactly
 * the expected codes on the expected files, `good/` (its nearest valid neighbour) must pass.
 * Expected = what the reference `nomos vet` printed (case.json "nomos"), unless the case says
 * pushsync deliberately differs ("pushsync" + "why").
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { vet, type SourceFormat, type VetOptions } from '../../lib/repo/index.ts';
import { readFixture } from '../helpers/repo-files.ts';

const ROOT = join(import.meta.dirname, '../fixtures/rules');

interface Outcome {
  codes: string[];
  paths?: string[];
  /** pushsync only: cluster → codes, for the clusters that report errors (the others vet clean). */
  byCluster?: Record<string, string[]>;
  /** Set instead of `output` when the figures were read off the nomos source, not printed by nomos. */
  derived?: string;
  output?: string;
}
interface Case {
  code: string;
  sourceFormat: SourceFormat;
  args?: string[];
  specCodes?: string[];
  bad: { nomos: Outcome | null; pushsync?: Outcome; why?: string };
  good: { nomos: Outcome | null };
}

function optionsFor(c: Case): VetOptions {
  let namespaceRepo: string | undefined;
  let threshold: number | undefined;
  for (const a of c.args ?? []) {
    const [flag, value] = a.split('=');
    if (flag === '--namespace') namespaceRepo = value;
    else if (flag === '--threshold') threshold = Number(value ?? 1000);
  }
  return { sourceFormat: c.sourceFormat, ...(namespaceRepo ? { namespaceRepo } : {}), ...(threshold !== undefined ? { threshold } : {}) };
}

const cases = readdirSync(ROOT, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

describe('KNV rules against their fixtures', () => {
  it('has a case for every offline KNV1xxx rule of spec §5.2', () => {
    const offline = [1003, 1004, 1005, 1006, 1007, 1009, 1010, 1011, 1013, 1014, 1017, 1019, 1020, 1027, 1029, 1031, 1032, 1034, 1036, 1038, 1039, 1041, 1042, 1043, 1044, 1045, 1046, 1048, 1050, 1052, 1053, 1054, 1055, 1056, 1057, 1058, 1064, 1065, 1066, 1069, 1070];
    const covered = new Set(cases.map((c) => c.slice(0, 4)));
    expect(offline.filter((c) => !covered.has(String(c)))).toEqual([]);
  });

  for (const name of cases) {
    const dir = join(ROOT, name);
    const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as Case;
    const expected: Outcome = c.bad.pushsync ?? c.bad.nomos ?? { codes: c.specCodes ?? [c.code] };
    it(`${name}: bad/ fails with ${[...new Set(expected.codes)].join(', ') || 'no error'}`, () => {
      const results = vet(readFixture(join(dir, 'bad')), optionsFor(c));
      const errors = results.flatMap((r) => r.errors);
      expect([...new Set(errors.map((e) => e.code))].sort()).toEqual([...new Set(expected.codes)].sort());
      if (expected.paths && expected.paths.length > 0) {
        const ours = new Set(errors.flatMap((e) => [e.path, ...(e.paths ?? []), ...(e.objects ?? []).map((o) => o.source)]).filter(Boolean).map((p) => String(p).replace(/\/$/, '')));
        for (const p of expected.paths) expect(ours, `error path ${p}`).toContain(p.replace(/\/$/, ''));
      }
      // Only pushsync's own figures: nomos' per-cluster blocks repeat earlier clusters' errors.
      const wantByCluster = c.bad.pushsync?.byCluster;
      if (wantByCluster) {
        const byCluster = Object.fromEntries(results.filter((r) => r.errors.length > 0).map((r) => [r.cluster, [...new Set(r.errors.map((e) => e.code))].sort()]));
        expect(byCluster).toEqual(wantByCluster);
      }
    });
    it(`${name}: every nomos figure was printed by nomos or says where it was derived from`, () => {
      for (const side of [c.bad.nomos, c.good.nomos]) {
        if (side) expect(side.output !== undefined || (side.derived ?? '').startsWith('derived from the nomos source')).toBe(true);
      }
    });
    if (existsSync(join(dir, 'good'))) {
      it(`${name}: good/ vets clean`, () => {
        const errors = vet(readFixture(join(dir, 'good')), optionsFor(c)).flatMap((r) => r.errors);
        expect(errors.map((e) => `${e.code} ${e.path}: ${e.message}`)).toEqual([]);
      });
    }
  }
});
