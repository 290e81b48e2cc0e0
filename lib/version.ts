// Inlined by the bundler, read by Node when run from the sources: one source of truth.
import pkg from '../package.json' with { type: 'json' };

export const PUSHSYNC_VERSION: string = pkg.version;
