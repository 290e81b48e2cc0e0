/** Reads a fixture directory into the engine's SourceFile list (relative, `/`-separated paths). */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { SourceFile } from '../../lib/repo/index.ts';

export function readFixture(root: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push({ path: relative(root, p).split(sep).join('/'), content: readFileSync(p) });
    }
  };
  walk(root);
  return out;
}

/** Build a SourceFile list from an object literal of path → YAML text. */
export function files(tree: Record<string, string>): SourceFile[] {
  return Object.entries(tree).map(([path, content]) => ({ path, content }));
}

export const REPO_YAML = 'apiVersion: configmanagement.gke.io/v1\nkind: Repo\nmetadata:\n  name: repo\nspec:\n  version: "1.0.0"\n';
