#!/usr/bin/env node
// Runs the bundled CLI (dist/, built by `npm ci` / `npm run build`) when it is newer than every
// source file; otherwise compiles the TypeScript sources on the fly with tsx, so an edit is
// never run stale.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// A one-shot command (vet, hydrate, apply, …) allocates fast and briefly: V8 would grow its
// young generation to tens of MB, nearly all of it garbage. Kept at its starting size, `pushsync
// vet` of a 2,000-file repo peaks ~20 MB lower for the same CPU (issue #13 §1). Not for `serve`,
// a long-lived server.
if (process.argv[2] !== 'serve') setFlagsFromString('--semi-space-growth-factor=1');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'cli.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    const built = statSync(bundle).mtimeMs;
    return ['lib', 'bin', 'functions'].every((d) => newestSource(join(root, d)) <= built);
  } catch {
    return false;
  }
}

if (process.env.PUSHSYNC_DEV !== '1' && bundleIsFresh()) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./cli.ts');
}
