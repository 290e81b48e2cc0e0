// Bundles the CLI (and, later, the functions) with esbuild: a bundled CLI starts in ~0.1 s and
// ~45 MB instead of compiling TypeScript on every run through tsx (~1 s, ~95 MB).
// Runs on `npm ci` (prepare); bin/pushsync.js falls back to the sources when this is stale.
import { build } from 'esbuild';

const entryPoints = { cli: 'bin/cli.ts', ...Object.fromEntries(process.argv.slice(2).map((e) => [e.replace(/^.*\/|\.ts$/g, ''), e])) };

await build({
  entryPoints,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The oldest Node pushsync runs on (package.json engines); newer ones, Lambda's 22 included, run it too.
  target: 'node20',
  sourcemap: true,
  // Dependencies stay in node_modules: the CLI runs from a checkout or an npm install.
  packages: 'external',
  logLevel: 'warning',
});
